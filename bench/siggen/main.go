// Command siggen is the load generator of bench/signaling.py and bench/scaleout.py: many Pion
// peer connections in one process, each an echo session of a server answering POST /offer.
//
//	siggen -url http://HOST:PORT/offer[,URL...] -opus HEX [-concurrency K] [-iface NAME]
//	       [-relay IP[,IP...]] [-pps N] [-talking F] [-dc-interval D] [-silent-dc-interval D]
//
// A media session has one sendrecv Opus track and one data channel. Session i is offered to
// the i-th -url in turn and, with -relay, keeps only the answer's candidates on the i-th relay
// address in turn (the answer of a transceiver behind several relays names all of them). A
// talking session (a -talking fraction of them, spread evenly) sends the same pre-encoded Opus
// frame (-opus, hex) at -pps packets/s, spread over the packet period in 20 groups, and
// counts the echoed RTP packets it receives and their jitter: RFC 3550 §6.4.1's estimator
// over the round trips' transit times (each echoed packet is matched by its RTP timestamp,
// which the echo keeps up to a constant offset, with the time it was sent, so the send
// loop's own lateness is not counted). Every session sends a data-channel message carrying its
// send time every -dc-interval (a silent one every -silent-dc-interval), counting the echoes
// and their round trip. Every 10 s a talking session pauses for 200 ms (see pausePeriods).
//
// Commands, one per stdin line; each gets one JSON line on stdout:
//
//	add N             set up N more media sessions, K at a time (offer -> connected ->
//	                  data channel open); {"ok", "failed", "seconds", "sessions",
//	                  "setup_p50_ms", "setup_p99_ms"}
//	measure S [sessions]
//	                  count over S seconds: {"sent", "received" (RTP packets), "dc_sent", "dc_received", "rtt_p50_ms", "rtt_p99_ms" (data
//	                  channel round trips), "lag_max_ms" (how late the send loop ran at worst),
//	                  "late_slots" (the fraction of send slots more than 5 ms late), "cpu_s"
//	                  (this process's CPU time), "sessions", "connected", "failed" (sessions
//	                  that failed or were closed by the server), "disconnected" (sessions
//	                  that were ever disconnected, as Pion says after 5 s without a packet)};
//	                  with "sessions", also "per_session": one [talking, sent, received,
//	                  jitter_ms, jitter_max_ms, dc_sent, dc_received, connected, disconnected,
//	                  failed] per session, where received
//	                  and dc_received count the echoes (until 0.5 s after the window) of the
//	                  packets and messages sent in the window, and jitter_ms is the estimate at
//	                  the end
//	churn R S H       from now on for S seconds, R new sessions per second (silent, the next
//	                  URL and relay in turn), each set up as by add, one data-channel message
//	                  echoed, held H seconds and closed; {"started": true}
//	churned           wait for the churn to end: {"started", "ok", "failed", "setup_p50_ms",
//	                  "setup_p99_ms", "setup_max_ms", "ended_early" (sessions that failed or
//	                  were closed by the server during their hold), "error"}
//	drop N            close the last N sessions (-1: all); {"closed", "sessions"}
//
// No interceptors (no NACK, no RTCP reports), one certificate for all peer connections, no
// mDNS, host candidates on -iface only (lo by default, with its loopback address): the
// generator should cost as little as possible per packet.
package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

const (
	groups   = 20 // the packet period is split into this many send slots
	lateSlot = 5 * time.Millisecond
	// Pion v3.1 (pion/ice v2) sends a consent check only when nothing was sent or received
	// on the pair for its keepalive interval (fixed in pion/ice v4.0.8, pion/ice#767), so
	// with media flowing it sends none, and a server that ends sessions without consent
	// checks for 30 s (RFC 7675; mediasoup, aiortc) ends them. Each talking session therefore
	// pauses (as Opus DTX would) for pausePeriods packet periods every pauseEvery, with the
	// keepalive interval at keepalive: Pion then sends a check in every pause. A silent
	// session sends a data-channel message every -silent-dc-interval, longer than
	// silentKeepalive, so Pion checks in between.
	keepalive       = 100 * time.Millisecond
	silentKeepalive = 2 * time.Second
	pausePeriods    = 10  // 200 ms at 50 packets/s
	pauseEvery      = 500 // 10 s at 50 packets/s
	pauseStagger    = 37  // periods between the pauses of consecutive sessions
	setupTimeout    = 10 * time.Second
	receiveGrace    = 500 * time.Millisecond
	ring            = 256 // send times kept per session (5 s at 50 packets/s)
	dcTick          = 10 * time.Millisecond
	clockRate       = 48000
)

var (
	talkAPI, silentAPI *webrtc.API
	cert               webrtc.Certificate
	offerURLs          []string
	relays             []string
	frame              []byte
	pps                = 50
	talking            = 1.0
	dcInterval         = time.Second
	silentDCInterval   = 5 * time.Second
	next               atomic.Int64 // the index of the next session: its URL, relay, talking
	client             = &http.Client{
		Timeout:   setupTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256},
	}

	counting atomic.Bool
	// The window of a measure (ns): echoes of packets sent in it are matched per session.
	windowStart, windowEnd atomic.Int64
	rttMu                  sync.Mutex
	rtts                   []float64
)

type session struct {
	pc      *webrtc.PeerConnection
	track   *webrtc.TrackLocalStaticRTP
	dc      *webrtc.DataChannel
	index   int64
	talking bool
	seq     uint16
	ts      uint32
	closing atomic.Bool

	sent, received, dcSent, dcReceived atomic.Int64
	disconnected                       atomic.Int64 // times ICE said disconnected (no receipt for 5 s)
	failed                             atomic.Bool  // failed or closed, not by us
	matched, dcMatched                 atomic.Int64 // echoes of what was sent in the window
	// When each of the last ring packets was sent (ns) and its timestamp, by timestamp.
	sentAt   [ring]atomic.Int64
	sentTS   [ring]atomic.Uint32
	lastSent atomic.Uint32
	// RFC 3550 §6.4.1 jitter of the transit times (ns, x16 fixed point as the RFC's sample
	// code), kept by the track's reading goroutine; read (and its maximum since the last
	// measure reset) across goroutines.
	jitter      atomic.Int64
	jitterMax   atomic.Int64
	offset      uint32 // echoed timestamp - sent timestamp (see receivedPacket)
	haveOffset  bool
	lastTransit int64
	haveTransit bool
}

func newAPI(keepaliveInterval time.Duration, iface string) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: clockRate, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	s := webrtc.SettingEngine{}
	s.SetIncludeLoopbackCandidate(iface == "lo")
	s.SetInterfaceFilter(func(name string) bool { return name == iface })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetICETimeouts(5*time.Second, 25*time.Second, keepaliveInterval)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s)), nil
}

// keepCandidates drops the answer's candidates on other addresses than relay.
func keepCandidates(sdp, relay string) string {
	var out []string
	for _, line := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			if fields := strings.Fields(line); len(fields) > 4 && fields[4] != relay {
				continue
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\r\n")
}

// signal POSTs the complete offer (every candidate in it) and applies the answer.
func signal(pc *webrtc.PeerConnection, index int64) error {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	body, _ := json.Marshal(map[string]string{"type": "offer", "sdp": pc.LocalDescription().SDP})
	url := offerURLs[index%int64(len(offerURLs))]
	response, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /offer: %s", response.Status)
	}
	var answer webrtc.SessionDescription
	if err := json.NewDecoder(response.Body).Decode(&answer); err != nil {
		return err
	}
	if len(relays) > 0 {
		answer.SDP = keepCandidates(answer.SDP, relays[index%int64(len(relays))])
	}
	return pc.SetRemoteDescription(answer)
}

func wait(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-time.After(setupTimeout):
		return errors.New("timed out")
	}
}

// isTalking spreads the talking fraction evenly over the session indices, and independently
// of their URL and relay (index modulo small numbers): the golden-ratio sequence.
func isTalking(index int64) bool {
	_, position := math.Modf(float64(index) * 0.6180339887498949)
	return position < talking
}

// notePacket notes when the packet with timestamp ts is sent.
func (s *session) notePacket(ts uint32, step uint32) {
	slot := (ts / step) % ring
	s.sentAt[slot].Store(time.Now().UnixNano())
	s.sentTS[slot].Store(ts)
	s.lastSent.Store(ts)
}

// receivedPacket notes one echoed RTP packet: its count, whether it was sent in the window,
// and the jitter estimate.
func (s *session) receivedPacket(packet []byte, step uint32) {
	s.received.Add(1)
	if len(packet) < 12 {
		return
	}
	now := time.Now().UnixNano()
	ts := binary.BigEndian.Uint32(packet[4:8])
	// An echo of packet S arrives after S was sent, so ts - lastSent is at most the offset,
	// and equal to it when the echo came back before the next packet went out: the largest
	// such value is the offset. Until then an echo maps to a packet not yet sent and is
	// neither matched nor timed.
	last := s.lastSent.Load()
	if last == 0 {
		return
	}
	if estimate := ts - last; !s.haveOffset || int32(estimate-s.offset) > 0 {
		s.offset, s.haveOffset = estimate, true
	}
	sent := ts - s.offset
	slot := (sent / step) % ring
	if s.sentTS[slot].Load() != sent {
		return // older than the ring, or not one of ours
	}
	at := s.sentAt[slot].Load()
	if at == 0 {
		return
	}
	if at >= windowStart.Load() && at <= windowEnd.Load() {
		s.matched.Add(1)
	}
	transit := now - at
	if s.haveTransit {
		d := transit - s.lastTransit
		if d < 0 {
			d = -d
		}
		j := s.jitter.Load()
		j += d - ((j + 8) >> 4)
		s.jitter.Store(j)
		if j > s.jitterMax.Load() {
			s.jitterMax.Store(j)
		}
	}
	s.lastTransit, s.haveTransit = transit, true
}

func jitterMs(j int64) float64 { return float64(j) / 16 / 1e6 }

// newMediaSession sets up one session: offer -> answer -> data channel open; echoed, with a
// first data-channel message echoed back when probe is set.
func newMediaSession(index int64, talks, probe bool) (*session, error) {
	api := silentAPI
	if talks {
		api = talkAPI
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return nil, err
	}
	s := &session{pc: pc, index: index, talking: talks}
	fail := func(err error) (*session, error) {
		s.closing.Store(true)
		pc.Close()
		return nil, err
	}
	s.track, err = webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: clockRate, Channels: 2},
		"audio", "siggen")
	if err != nil {
		return fail(err)
	}
	if _, err := pc.AddTrack(s.track); err != nil {
		return fail(err)
	}
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			n, _, err := track.Read(buf)
			if err != nil {
				return
			}
			s.receivedPacket(buf[:n], uint32(clockRate/pps))
		}
	})
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		if s.closing.Load() {
			return
		}
		switch state {
		case webrtc.PeerConnectionStateDisconnected:
			s.disconnected.Add(1)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.failed.Store(true)
		default:
		}
	})
	s.dc, err = pc.CreateDataChannel("echo", nil)
	if err != nil {
		return fail(err)
	}
	opened := make(chan struct{})
	echoed := make(chan struct{}, 1)
	s.dc.OnOpen(func() { close(opened) })
	s.dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		stamp, err := strconv.ParseInt(string(msg.Data), 10, 64)
		if err != nil {
			return
		}
		s.dcReceived.Add(1)
		if stamp >= windowStart.Load() && stamp <= windowEnd.Load() {
			s.dcMatched.Add(1)
		}
		select {
		case echoed <- struct{}{}:
		default:
		}
		if counting.Load() {
			rttMu.Lock()
			rtts = append(rtts, float64(time.Now().UnixNano()-stamp)/1e6)
			rttMu.Unlock()
		}
	})
	if err := signal(pc, index); err != nil {
		return fail(err)
	}
	if err := wait(opened); err != nil {
		return fail(fmt.Errorf("data channel: %w", err))
	}
	if probe {
		if err := s.dc.SendText(strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
			return fail(err)
		}
		s.dcSent.Add(1)
		if err := wait(echoed); err != nil {
			return fail(fmt.Errorf("first message: %w", err))
		}
	}
	return s, nil
}

type generator struct {
	mu       sync.Mutex
	sessions []*session
	lagMax   atomic.Int64 // ns
	slots    atomic.Int64 // send slots run while counting
	late     atomic.Int64 // of which more than lateSlot behind schedule
	churning sync.WaitGroup
	churn    churnResult
}

type churnResult struct {
	mu                          sync.Mutex
	started, ok, failed, broken int64
	setups                      []float64
	lastErr                     string
}

// send runs forever: slot g of every packet period sends one packet on every talking session
// whose index is g modulo groups.
func (g *generator) send() {
	period := time.Second / time.Duration(pps)
	step := uint32(clockRate / pps)
	slot := period / groups
	next := time.Now()
	for i := 0; ; i++ {
		next = next.Add(slot)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else if counting.Load() {
			if lag := -d; int64(lag) > g.lagMax.Load() {
				g.lagMax.Store(int64(lag))
			}
			if -d > lateSlot {
				g.late.Add(1)
			}
		}
		if counting.Load() {
			g.slots.Add(1)
		}
		g.mu.Lock()
		group := i % groups
		period := i / groups
		for j := group; j < len(g.sessions); j += groups {
			s := g.sessions[j]
			if !s.talking {
				continue
			}
			s.ts += step
			if (period+j*pauseStagger)%pauseEvery < pausePeriods {
				// The pause that lets Pion send a consent check (see pausePeriods): as in
				// DTX, the timestamp moves on and the sequence number does not.
				continue
			}
			s.seq++
			packet := &rtp.Packet{
				Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: s.seq, Timestamp: s.ts},
				Payload: frame,
			}
			// Noted before it is written: its echo may come back before WriteRTP returns.
			s.notePacket(s.ts, step)
			if err := s.track.WriteRTP(packet); err == nil {
				s.sent.Add(1)
			}
		}
		g.mu.Unlock()
	}
}

// sendMessages runs forever: every dcTick, the sessions whose data-channel message is due
// (staggered by index) send one; a talking session skips the due ones in its pause.
func (g *generator) sendMessages() {
	talkTicks := int(dcInterval / dcTick)
	silentTicks := int(silentDCInterval / dcTick)
	periodTicks := int(time.Second / time.Duration(pps) / dcTick)
	if periodTicks < 1 {
		periodTicks = 1
	}
	ticker := time.NewTicker(dcTick)
	for tick := 0; ; tick++ {
		<-ticker.C
		g.mu.Lock()
		for j, s := range g.sessions {
			every := silentTicks
			if s.talking {
				every = talkTicks
			}
			if every < 1 || (tick+j*7)%every != 0 {
				continue
			}
			if s.talking && (tick/periodTicks+j*pauseStagger)%pauseEvery < pausePeriods+2 {
				continue
			}
			if s.dc.SendText(strconv.FormatInt(time.Now().UnixNano(), 10)) == nil {
				s.dcSent.Add(1)
			}
		}
		g.mu.Unlock()
	}
}

func quantiles(values []float64) (float64, float64, float64) {
	return nanToNeg(percentile(values, 0.5)), nanToNeg(percentile(values, 0.99)),
		nanToNeg(percentile(values, 1))
}

func (g *generator) add(n, concurrency int) map[string]interface{} {
	start := time.Now()
	var ok, failed atomic.Int64
	var lastErr atomic.Value
	var timesMu sync.Mutex
	var times []float64
	slots := make(chan struct{}, concurrency)
	var running sync.WaitGroup
	for i := 0; i < n; i++ {
		slots <- struct{}{}
		running.Add(1)
		index := next.Add(1) - 1
		go func() {
			defer func() { <-slots; running.Done() }()
			began := time.Now()
			s, err := newMediaSession(index, isTalking(index), false)
			if err != nil {
				failed.Add(1)
				lastErr.Store(err.Error())
				return
			}
			ok.Add(1)
			timesMu.Lock()
			times = append(times, float64(time.Since(began))/1e6)
			timesMu.Unlock()
			g.mu.Lock()
			g.sessions = append(g.sessions, s)
			g.mu.Unlock()
		}()
	}
	running.Wait()
	g.mu.Lock()
	total := len(g.sessions)
	g.mu.Unlock()
	p50, p99, _ := quantiles(times)
	out := map[string]interface{}{
		"ok": ok.Load(), "failed": failed.Load(), "seconds": time.Since(start).Seconds(),
		"sessions": total, "setup_p50_ms": p50, "setup_p99_ms": p99,
	}
	if e := lastErr.Load(); e != nil {
		out["error"] = e
	}
	return out
}

// startChurn sets up rate sessions per second for seconds, each held for hold and closed.
func (g *generator) startChurn(rate, seconds, hold float64) map[string]interface{} {
	r := &g.churn
	r.mu.Lock()
	r.started, r.ok, r.failed, r.broken, r.setups, r.lastErr = 0, 0, 0, 0, nil, ""
	r.mu.Unlock()
	g.churning.Add(1)
	go func() {
		defer g.churning.Done()
		start := time.Now()
		end := start.Add(time.Duration(seconds * float64(time.Second)))
		for k := 0; ; k++ {
			at := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
			if !at.Before(end) {
				return
			}
			time.Sleep(time.Until(at))
			g.churning.Add(1)
			index := next.Add(1) - 1
			go func() {
				defer g.churning.Done()
				r := &g.churn
				began := time.Now()
				s, err := newMediaSession(index, false, true)
				r.mu.Lock()
				r.started++
				if err != nil {
					r.failed++
					r.lastErr = err.Error()
					r.mu.Unlock()
					return
				}
				r.ok++
				r.setups = append(r.setups, float64(time.Since(began))/1e6)
				r.mu.Unlock()
				time.Sleep(time.Duration(hold * float64(time.Second)))
				if s.failed.Load() {
					r.mu.Lock()
					r.broken++
					r.mu.Unlock()
				}
				s.closing.Store(true)
				s.pc.Close()
			}()
		}
	}()
	return map[string]interface{}{"started": true}
}

func (g *generator) churned() map[string]interface{} {
	g.churning.Wait()
	r := &g.churn
	r.mu.Lock()
	defer r.mu.Unlock()
	p50, p99, max := quantiles(r.setups)
	out := map[string]interface{}{
		"started": r.started, "ok": r.ok, "failed": r.failed, "ended_early": r.broken,
		"setup_p50_ms": p50, "setup_p99_ms": p99, "setup_max_ms": max,
	}
	if r.lastErr != "" {
		out["error"] = r.lastErr
	}
	return out
}

func percentile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sort.Float64s(values)
	return values[int(math.Min(float64(len(values)-1), math.Floor(q*float64(len(values)))))]
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

type counts struct{ sent, received, dcSent, dcReceived int64 }

func (g *generator) measure(seconds float64, detail bool) map[string]interface{} {
	rttMu.Lock()
	rtts = nil
	rttMu.Unlock()
	g.lagMax.Store(0)
	g.slots.Store(0)
	g.late.Store(0)
	g.mu.Lock()
	sessions := append([]*session(nil), g.sessions...)
	g.mu.Unlock()
	// In total, sent and received are counted over the same window: with a latency of a
	// few ms, the echoes of packets sent just before the window stand in for those still in
	// flight at its end. Per session, the echoes of the packets sent in the window are
	// counted until receiveGrace after it.
	before := make([]counts, len(sessions))
	windowEnd.Store(math.MaxInt64)
	for _, s := range sessions {
		s.matched.Store(0)
		s.dcMatched.Store(0)
		s.jitterMax.Store(s.jitter.Load())
	}
	windowStart.Store(time.Now().UnixNano())
	for i, s := range sessions {
		before[i] = counts{s.sent.Load(), s.received.Load(), s.dcSent.Load(), s.dcReceived.Load()}
	}
	cpu := cpuSeconds()
	counting.Store(true)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	counting.Store(false)
	windowEnd.Store(time.Now().UnixNano())
	cpu = cpuSeconds() - cpu
	at := make([]counts, len(sessions))
	for i, s := range sessions {
		at[i] = counts{s.sent.Load(), s.received.Load(), s.dcSent.Load(), s.dcReceived.Load()}
	}
	if detail {
		time.Sleep(receiveGrace)
	}
	var total counts
	connected, failedSessions, disconnectedSessions := 0, 0, 0
	var perSession [][]float64
	for i, s := range sessions {
		c := counts{
			at[i].sent - before[i].sent, at[i].received - before[i].received,
			at[i].dcSent - before[i].dcSent, at[i].dcReceived - before[i].dcReceived,
		}
		total.sent += c.sent
		total.received += c.received
		total.dcSent += c.dcSent
		total.dcReceived += c.dcReceived
		up := s.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
		if up {
			connected++
		}
		if s.failed.Load() {
			failedSessions++
		}
		if s.disconnected.Load() > 0 {
			disconnectedSessions++
		}
		if detail {
			b2f := func(b bool) float64 {
				if b {
					return 1
				}
				return 0
			}
			perSession = append(perSession, []float64{
				b2f(s.talking), float64(c.sent), float64(s.matched.Load()), jitterMs(s.jitter.Load()),
				jitterMs(s.jitterMax.Load()), float64(c.dcSent), float64(s.dcMatched.Load()), b2f(up),
				float64(s.disconnected.Load()), b2f(s.failed.Load()),
			})
		}
	}
	rttMu.Lock()
	defer rttMu.Unlock()
	out := map[string]interface{}{
		"sent": total.sent, "received": total.received, "dc_sent": total.dcSent,
		"dc_received": total.dcReceived,
		"rtt_p50_ms":  nanToNeg(percentile(rtts, 0.5)), "rtt_p99_ms": nanToNeg(percentile(rtts, 0.99)),
		"lag_max_ms": float64(g.lagMax.Load()) / 1e6, "cpu_s": cpu, "sessions": len(sessions),
		"late_slots": float64(g.late.Load()) / math.Max(1, float64(g.slots.Load())),
		"connected":  connected, "failed": failedSessions, "disconnected": disconnectedSessions,
	}
	if detail {
		out["per_session"] = perSession
	}
	return out
}

func nanToNeg(v float64) float64 {
	if math.IsNaN(v) {
		return -1
	}
	return v
}

// drop closes the last n sessions (all of them if n < 0).
func (g *generator) drop(n int) map[string]interface{} {
	g.mu.Lock()
	if n < 0 || n > len(g.sessions) {
		n = len(g.sessions)
	}
	sessions := g.sessions[len(g.sessions)-n:]
	g.sessions = g.sessions[:len(g.sessions)-n]
	g.mu.Unlock()
	var closing sync.WaitGroup
	for _, s := range sessions {
		closing.Add(1)
		s.closing.Store(true)
		go func(s *session) { defer closing.Done(); s.pc.Close() }(s)
	}
	closing.Wait()
	return map[string]interface{}{"closed": len(sessions), "sessions": len(g.sessions)}
}

func main() {
	url := flag.String("url", "", "the servers' POST /offer URLs, comma-separated (round robin)")
	opus := flag.String("opus", "", "one Opus frame (20 ms), hex")
	concurrency := flag.Int("concurrency", 16, "setups in flight during add")
	iface := flag.String("iface", "lo", "the network interface of the host candidates")
	relayList := flag.String("relay", "", "keep only the answer's candidates on these IPs, "+
		"comma-separated, one per session in turn")
	flag.IntVar(&pps, "pps", 50, "RTP packets per second of a talking session")
	flag.Float64Var(&talking, "talking", 1.0, "the fraction of sessions that send audio")
	flag.DurationVar(&dcInterval, "dc-interval", time.Second, "data-channel message interval")
	flag.DurationVar(&silentDCInterval, "silent-dc-interval", 5*time.Second,
		"data-channel message interval of a silent session (above 2 s: see silentKeepalive)")
	flag.Parse()
	var err error
	if frame, err = hex.DecodeString(*opus); err != nil || len(frame) == 0 || *url == "" ||
		pps < 1 || pps > 1000 {
		fmt.Fprintln(os.Stderr, "usage: siggen -url URL[,URL...] -opus HEX [-concurrency K] "+
			"[-iface NAME] [-relay IP[,IP...]] [-pps N] [-talking F] [-dc-interval D] "+
			"[-silent-dc-interval D]")
		os.Exit(2)
	}
	offerURLs = strings.Split(*url, ",")
	if *relayList != "" {
		relays = strings.Split(*relayList, ",")
	}
	if talkAPI, err = newAPI(keepalive, *iface); err != nil {
		panic(err)
	}
	if silentAPI, err = newAPI(silentKeepalive, *iface); err != nil {
		panic(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	certificate, err := webrtc.GenerateCertificate(key)
	if err != nil {
		panic(err)
	}
	cert = *certificate
	g := &generator{}
	go g.send()
	go g.sendMessages()
	out := json.NewEncoder(os.Stdout)
	lines := bufio.NewScanner(os.Stdin)
	number := func(words []string, i int) float64 {
		if len(words) <= i {
			return 0
		}
		v, _ := strconv.ParseFloat(words[i], 64)
		return v
	}
	for lines.Scan() {
		words := strings.Fields(lines.Text())
		if len(words) == 0 {
			continue
		}
		var reply map[string]interface{}
		switch words[0] {
		case "add":
			reply = g.add(int(number(words, 1)), *concurrency)
		case "measure":
			reply = g.measure(number(words, 1), len(words) > 2 && words[2] == "sessions")
		case "churn":
			reply = g.startChurn(number(words, 1), number(words, 2), number(words, 3))
		case "churned":
			reply = g.churned()
		case "drop":
			reply = g.drop(int(number(words, 1)))
		default:
			reply = map[string]interface{}{"error": "unknown command " + words[0]}
		}
		if err := out.Encode(reply); err != nil {
			os.Exit(1)
		}
	}
	g.drop(-1)
}
