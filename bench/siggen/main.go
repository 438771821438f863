// Command siggen is the load generator of bench/signaling.py: many Pion peer connections in
// one process, each an echo session of a server answering POST /offer.
//
//	siggen -url http://HOST:PORT/offer -opus HEX [-concurrency K]
//
// A media session has one sendrecv Opus track and one data channel. Every session sends the
// same pre-encoded Opus frame (-opus, hex) at 50 packets/s, spread over the 20 ms period in
// 20 groups, counts the echoed RTP packets it receives, and sends a data-channel message
// carrying its send time once a second, counting the echoes and their round trip. Every 10 s
// a session pauses for 200 ms (see pausePeriods): 49 packets/s on average.
//
// Commands, one per stdin line; each gets one JSON line on stdout:
//
//	add N             set up N more media sessions, K at a time (offer -> connected ->
//	                  data channel open); {"ok", "failed", "seconds", "sessions"}
//	measure S         count over S seconds: {"sent", "received" (RTP packets), "dc_sent",
//	                  "dc_received", "rtt_p50_ms", "rtt_p99_ms" (data channel round trips),
//	                  "lag_max_ms" (how late the send loop ran at worst), "late_slots" (the
//	                  fraction of send slots more than 5 ms late), "cpu_s" (this process's CPU
//	                  time), "sessions", "connected"}
//	drop N            close the last N sessions (-1: all); {"closed", "sessions"}
//
// No interceptors (no NACK, no RTCP reports), one certificate for all peer connections,
// loopback only, no mDNS: the generator should cost as little as possible per packet.
package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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
	groups   = 20 // the 20 ms period is split into this many send slots
	lateSlot = 5 * time.Millisecond
	// Pion v3.1 (pion/ice v2) sends a consent check only when nothing was sent or received
	// on the pair for its keepalive interval (fixed in pion/ice v4.0.8, pion/ice#767), so
	// with media flowing it sends none, and a server that ends sessions without consent
	// checks for 30 s (RFC 7675; pywebrtc-signaling, mediasoup) ends them. Each session
	// therefore pauses (as Opus DTX would) for pausePeriods 20 ms periods every pauseEvery,
	// with the keepalive interval at keepalive: Pion then sends a check in every pause.
	keepalive    = 100 * time.Millisecond
	pausePeriods = 10  // 200 ms
	pauseEvery   = 500 // 10 s
	pauseStagger = 37  // periods between the pauses of consecutive sessions
	setupTimeout = 10 * time.Second
)

var (
	api      *webrtc.API
	cert     webrtc.Certificate
	offerURL string
	frame    []byte
	client   = &http.Client{
		Timeout:   setupTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256},
	}

	counting   atomic.Bool
	sent       atomic.Int64
	received   atomic.Int64
	dcSent     atomic.Int64
	dcReceived atomic.Int64
	rttMu      sync.Mutex
	rtts       []float64
)

type session struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	dc    *webrtc.DataChannel
	seq   uint16
	ts    uint32
}

func newAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	s := webrtc.SettingEngine{}
	s.SetIncludeLoopbackCandidate(true)
	s.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetICETimeouts(5*time.Second, 25*time.Second, keepalive)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s)), nil
}

// signal POSTs the complete offer (every candidate in it) and applies the answer.
func signal(pc *webrtc.PeerConnection) error {
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
	response, err := client.Post(offerURL, "application/json", bytes.NewReader(body))
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

func newMediaSession() (*session, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return nil, err
	}
	s := &session{pc: pc}
	fail := func(err error) (*session, error) {
		pc.Close()
		return nil, err
	}
	s.track, err = webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
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
			if _, _, err := track.Read(buf); err != nil {
				return
			}
			if counting.Load() {
				received.Add(1)
			}
		}
	})
	s.dc, err = pc.CreateDataChannel("echo", nil)
	if err != nil {
		return fail(err)
	}
	opened := make(chan struct{})
	s.dc.OnOpen(func() { close(opened) })
	s.dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		stamp, err := strconv.ParseInt(string(msg.Data), 10, 64)
		if err != nil || !counting.Load() {
			return
		}
		dcReceived.Add(1)
		rttMu.Lock()
		rtts = append(rtts, float64(time.Now().UnixNano()-stamp)/1e6)
		rttMu.Unlock()
	})
	if err := signal(pc); err != nil {
		return fail(err)
	}
	if err := wait(opened); err != nil {
		return fail(fmt.Errorf("data channel: %w", err))
	}
	return s, nil
}

type generator struct {
	mu       sync.Mutex
	sessions []*session
	lagMax   atomic.Int64 // ns
	slots    atomic.Int64 // send slots run while counting
	late     atomic.Int64 // of which more than lateSlot behind schedule
}

// send runs forever: slot g of every 20 ms period sends one packet on every session whose
// index is g modulo groups.
func (g *generator) send() {
	period := 20 * time.Millisecond
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
			s.ts += 960
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
			if err := s.track.WriteRTP(packet); err == nil && counting.Load() {
				sent.Add(1)
			}
		}
		if i%(groups*50) == group { // once a second per session, staggered
			for j := group; j < len(g.sessions); j += groups {
				if (period+j*pauseStagger)%pauseEvery < pausePeriods {
					continue
				}
				if g.sessions[j].dc.SendText(strconv.FormatInt(time.Now().UnixNano(), 10)) == nil && counting.Load() {
					dcSent.Add(1)
				}
			}
		}
		g.mu.Unlock()
	}
}

func (g *generator) add(n, concurrency int) map[string]interface{} {
	start := time.Now()
	var ok, failed atomic.Int64
	var lastErr atomic.Value
	slots := make(chan struct{}, concurrency)
	var running sync.WaitGroup
	for i := 0; i < n; i++ {
		slots <- struct{}{}
		running.Add(1)
		go func() {
			defer func() { <-slots; running.Done() }()
			s, err := newMediaSession()
			if err != nil {
				failed.Add(1)
				lastErr.Store(err.Error())
				return
			}
			ok.Add(1)
			g.mu.Lock()
			g.sessions = append(g.sessions, s)
			g.mu.Unlock()
		}()
	}
	running.Wait()
	g.mu.Lock()
	total := len(g.sessions)
	g.mu.Unlock()
	out := map[string]interface{}{
		"ok": ok.Load(), "failed": failed.Load(), "seconds": time.Since(start).Seconds(),
		"sessions": total,
	}
	if e := lastErr.Load(); e != nil {
		out["error"] = e
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

func (g *generator) measure(seconds float64) map[string]interface{} {
	rttMu.Lock()
	rtts = nil
	rttMu.Unlock()
	g.lagMax.Store(0)
	g.slots.Store(0)
	g.late.Store(0)
	// Sent and received are counted over the same window: with a latency of a few ms
	// against a window of seconds, the echoes of packets sent before it stand in for those
	// still in flight at its end.
	sent.Store(0)
	received.Store(0)
	dcSent.Store(0)
	dcReceived.Store(0)
	cpu := cpuSeconds()
	counting.Store(true)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	counting.Store(false)
	cpu = cpuSeconds() - cpu
	connected := 0
	g.mu.Lock()
	for _, s := range g.sessions {
		if s.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
			connected++
		}
	}
	total := len(g.sessions)
	g.mu.Unlock()
	rttMu.Lock()
	defer rttMu.Unlock()
	return map[string]interface{}{
		"sent": sent.Load(), "received": received.Load(), "dc_sent": dcSent.Load(),
		"dc_received": dcReceived.Load(),
		"rtt_p50_ms":  nanToNeg(percentile(rtts, 0.5)), "rtt_p99_ms": nanToNeg(percentile(rtts, 0.99)),
		"lag_max_ms": float64(g.lagMax.Load()) / 1e6, "cpu_s": cpu, "sessions": total,
		"late_slots": float64(g.late.Load()) / math.Max(1, float64(g.slots.Load())),
		"connected":  connected,
	}
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
		go func(s *session) { defer closing.Done(); s.pc.Close() }(s)
	}
	closing.Wait()
	return map[string]interface{}{"closed": len(sessions), "sessions": len(g.sessions)}
}

func main() {
	url := flag.String("url", "", "the server's POST /offer URL")
	opus := flag.String("opus", "", "one Opus frame (20 ms), hex")
	concurrency := flag.Int("concurrency", 16, "setups in flight during add")
	flag.Parse()
	var err error
	if frame, err = hex.DecodeString(*opus); err != nil || len(frame) == 0 || *url == "" {
		fmt.Fprintln(os.Stderr, "usage: siggen -url URL -opus HEX [-concurrency K]")
		os.Exit(2)
	}
	offerURL = *url
	if api, err = newAPI(); err != nil {
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
	out := json.NewEncoder(os.Stdout)
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		words := strings.Fields(lines.Text())
		if len(words) == 0 {
			continue
		}
		var reply map[string]interface{}
		switch words[0] {
		case "add":
			n, _ := strconv.Atoi(words[1])
			reply = g.add(n, *concurrency)
		case "measure":
			seconds, _ := strconv.ParseFloat(words[1], 64)
			reply = g.measure(seconds)
		case "drop":
			n, _ := strconv.Atoi(words[1])
			reply = g.drop(n)
		default:
			reply = map[string]interface{}{"error": "unknown command " + words[0]}
		}
		if err := out.Encode(reply); err != nil {
			os.Exit(1)
		}
	}
	g.drop(-1)
}
