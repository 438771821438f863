// Command peer is Pion WebRTC v3 as a peer for pywebrtc's interop tests (conformance/pion)
// and benchmarks (bench/peerconnection.py).
//
//	peer [-loopback] [-lite]   one peer connection driven by JSON lines on stdin/stdout
//	peer bench setup           Pion to Pion in this process: createOffer -> first message, ms
//	peer bench setup-cpu       the same, CPU ms of this process for one whole setup
//	peer bench throughput      Pion to Pion: 32 MiB as 64 KiB messages, Mbit/s of payload
//
// Each request is {"id": n, "cmd": "...", ...} and gets exactly one reply line,
// {"id": n, "ok": {...}} or {"id": n, "error": "..."}. Requests run concurrently (one
// goroutine each), so a waiting request ("take", "wait_open") does not hold up the others.
// Messages travel in JSON as {"t": "text"} or {"b": "base64"}. Signaling is non-trickle:
// every SDP carries all candidates, except for the WHIP client of whip.go ("whip", "whip_delete"),
// which trickles.
//
// Opus: Pion has no encoder, so "audio" sends packets pre-encoded by the Python side, read
// from a file of (2-byte big-endian length, payload) records, one per 20 ms; received Opus
// payloads are appended to a file in the same format for the Python side to decode.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

const waitTimeout = 20 * time.Second

type request struct {
	ID             int               `json:"id"`
	Cmd            string            `json:"cmd"`
	Label          string            `json:"label"`
	SDP            string            `json:"sdp"`
	Ordered        *bool             `json:"ordered"`
	MaxRetransmits *uint16           `json:"maxRetransmits"`
	Negotiated     bool              `json:"negotiated"`
	ChannelID      *uint16           `json:"channel_id"`
	Messages       []json.RawMessage `json:"messages"`
	Count          int               `json:"count"`
	Digest         bool              `json:"digest"`
	Size           int               `json:"size"`
	Chunk          int               `json:"chunk"`
	Send           string            `json:"send"`
	Record         string            `json:"record"`
	On             bool              `json:"on"`
	URL            string            `json:"url"`
	Token          string            `json:"token"`
	Reflect        bool              `json:"reflect"`
}

type message struct {
	T *string `json:"t,omitempty"`
	B *string `json:"b,omitempty"`
}

// channel is one data channel and everything it received, in arrival order.
type channel struct {
	dc       *webrtc.DataChannel
	received []webrtc.DataChannelMessage
}

type peer struct {
	pc       *webrtc.PeerConnection
	mu       sync.Mutex
	channels map[string]*channel
	echo     bool
	record   *os.File
	audio    audioStats
	video    videoStats
	videoIn  *webrtc.TrackRemote
	videoOut *webrtc.TrackLocalStaticRTP // reflect: the remote video's packets go out here
	// whipSession: the resource of the "whip" command (whip.go), for "whip_delete".
	whipSession *whipSession
	gather      *gathering
}

type audioStats struct {
	Packets     int     `json:"packets"`
	PayloadType uint8   `json:"payloadType"`
	MimeType    string  `json:"mimeType"`
	Seconds     float64 `json:"seconds"` // first to last packet
	first, last time.Time
}

var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func reply(id int, ok interface{}, err error) {
	line := map[string]interface{}{"id": id}
	if err != nil {
		line["error"] = err.Error()
	} else {
		line["ok"] = ok
	}
	out.Lock()
	defer out.Unlock()
	if e := out.enc.Encode(line); e != nil {
		os.Exit(1)
	}
}

// newAPI: Pion's default codecs and interceptors (NACK, RTCP reports), plus settings.
func newAPI(loopback, lite bool) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	registry := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, registry); err != nil {
		return nil, err
	}
	settings := webrtc.SettingEngine{}
	if loopback {
		// Pion leaves loopback out by default; the tests run on 127.0.0.1 only.
		settings.SetIncludeLoopbackCandidate(true)
		settings.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	settings.SetLite(lite)
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings),
	), nil
}

func (p *peer) adopt(dc *webrtc.DataChannel) *channel {
	ch := &channel{dc: dc}
	p.mu.Lock()
	p.channels[dc.Label()] = ch
	p.mu.Unlock()
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		p.mu.Lock()
		ch.received = append(ch.received, msg)
		echo := p.echo
		p.mu.Unlock()
		if echo {
			send(dc, msg)
		}
	})
	return ch
}

func send(dc *webrtc.DataChannel, msg webrtc.DataChannelMessage) error {
	if msg.IsString {
		return dc.SendText(string(msg.Data))
	}
	return dc.Send(msg.Data)
}

func (p *peer) channel(label string) (*channel, error) {
	var ch *channel
	err := waitFor(func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		ch = p.channels[label]
		return ch != nil
	})
	if err != nil {
		return nil, fmt.Errorf("no channel %q", label)
	}
	return ch, nil
}

func waitFor(ready func() bool) error {
	deadline := time.Now().Add(waitTimeout)
	for !ready() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// describe: what the application sees of a channel (as the browser tests' waitOpen).
func describe(dc *webrtc.DataChannel) map[string]interface{} {
	return map[string]interface{}{
		"label": dc.Label(), "id": dc.ID(), "ordered": dc.Ordered(),
		"maxRetransmits": dc.MaxRetransmits(), "negotiated": dc.Negotiated(),
		"state": dc.ReadyState().String(),
	}
}

func (p *peer) localDescription() (interface{}, error) {
	<-webrtc.GatheringCompletePromise(p.pc)
	return map[string]string{"sdp": p.pc.LocalDescription().SDP}, nil
}

func (p *peer) handle(r request) (interface{}, error) {
	switch r.Cmd {
	case "channel":
		dc, err := p.pc.CreateDataChannel(r.Label, &webrtc.DataChannelInit{
			Ordered: r.Ordered, MaxRetransmits: r.MaxRetransmits,
			Negotiated: &r.Negotiated, ID: r.ChannelID,
		})
		if err != nil {
			return nil, err
		}
		p.adopt(dc)
		return describe(dc), nil
	case "audio":
		return nil, p.addAudio(r.Send, r.Record)
	case "offer":
		offer, err := p.pc.CreateOffer(nil)
		if err == nil {
			err = p.pc.SetLocalDescription(offer)
		}
		if err != nil {
			return nil, err
		}
		return p.localDescription()
	case "restart_offer":
		// ICE restart (Pion has no restartIce(): the W3C iceRestart offer option): new
		// credentials, candidates gathered again.
		offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
		if err == nil {
			err = p.pc.SetLocalDescription(offer)
		}
		if err != nil {
			return nil, err
		}
		return p.localDescription()
	case "answer":
		err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: r.SDP})
		if err != nil {
			return nil, err
		}
		answer, err := p.pc.CreateAnswer(nil)
		if err == nil {
			err = p.pc.SetLocalDescription(answer)
		}
		if err != nil {
			return nil, err
		}
		return p.localDescription()
	case "accept":
		return nil, p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.SDP})
	case "wait_open", "wait_closed":
		want := webrtc.DataChannelStateOpen
		if r.Cmd == "wait_closed" {
			want = webrtc.DataChannelStateClosed
		}
		ch, err := p.channel(r.Label)
		if err != nil {
			return nil, err
		}
		if err := waitFor(func() bool { return ch.dc.ReadyState() == want }); err != nil {
			return nil, fmt.Errorf("%s is %s", r.Label, ch.dc.ReadyState())
		}
		return describe(ch.dc), nil
	case "send":
		ch, err := p.channel(r.Label)
		if err != nil {
			return nil, err
		}
		for _, raw := range r.Messages {
			msg, err := decode(raw)
			if err == nil {
				err = send(ch.dc, msg)
			}
			if err != nil {
				return nil, err
			}
		}
		return nil, nil
	case "send_random":
		ch, err := p.channel(r.Label)
		if err != nil {
			return nil, err
		}
		blob := make([]byte, r.Size)
		if _, err := rand.Read(blob); err != nil {
			return nil, err
		}
		for offset := 0; offset < len(blob); offset += r.Chunk {
			end := offset + r.Chunk
			if end > len(blob) {
				end = len(blob)
			}
			if err := ch.dc.Send(blob[offset:end]); err != nil {
				return nil, err
			}
		}
		sum := sha256.Sum256(blob)
		return map[string]string{"sha256": hex.EncodeToString(sum[:])}, nil
	case "take":
		return p.take(r)
	case "close":
		ch, err := p.channel(r.Label)
		if err != nil {
			return nil, err
		}
		return nil, ch.dc.Close()
	case "echo":
		p.mu.Lock()
		p.echo = r.On
		p.mu.Unlock()
		return nil, nil
	case "video":
		return nil, p.addVideo(r.Send, r.Reflect)
	case "video_stats":
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.video, nil
	case "audio_stats":
		p.mu.Lock()
		defer p.mu.Unlock()
		stats := p.audio
		if stats.Packets > 0 {
			stats.Seconds = stats.last.Sub(stats.first).Seconds()
		}
		return stats, nil
	case "whip":
		return p.whip(r.URL, r.Token)
	case "whip_restart":
		return p.whipRestart()
	case "whip_delete":
		return p.whipDelete()
	case "close_pc":
		return nil, p.pc.Close()
	case "state":
		return map[string]string{
			"connection": p.pc.ConnectionState().String(),
			"ice":        p.pc.ICEConnectionState().String(),
		}, nil
	}
	return nil, fmt.Errorf("unknown command %q", r.Cmd)
}

// take waits for count messages on a channel and removes them: returned as they are,
// or with "digest" as their count, total size and the sha256 of their concatenation.
func (p *peer) take(r request) (interface{}, error) {
	ch, err := p.channel(r.Label)
	if err != nil {
		return nil, err
	}
	err = waitFor(func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(ch.received) >= r.Count
	})
	p.mu.Lock()
	taken := ch.received
	if len(taken) > r.Count {
		taken = taken[:r.Count]
	}
	ch.received = ch.received[len(taken):]
	p.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%d of %d messages on %s", len(taken), r.Count, r.Label)
	}
	if r.Digest {
		hash := sha256.New()
		size := 0
		for _, m := range taken {
			hash.Write(m.Data)
			size += len(m.Data)
		}
		return map[string]interface{}{
			"count": len(taken), "bytes": size, "sha256": hex.EncodeToString(hash.Sum(nil)),
		}, nil
	}
	encoded := make([]message, len(taken))
	for i, m := range taken {
		if m.IsString {
			text := string(m.Data)
			encoded[i].T = &text
		} else {
			b64 := base64.StdEncoding.EncodeToString(m.Data)
			encoded[i].B = &b64
		}
	}
	return map[string]interface{}{"messages": encoded}, nil
}

func decode(raw json.RawMessage) (webrtc.DataChannelMessage, error) {
	var m message
	if err := json.Unmarshal(raw, &m); err != nil {
		return webrtc.DataChannelMessage{}, err
	}
	if m.T != nil {
		return webrtc.DataChannelMessage{IsString: true, Data: []byte(*m.T)}, nil
	}
	if m.B == nil {
		return webrtc.DataChannelMessage{}, errors.New("message is neither t nor b")
	}
	data, err := base64.StdEncoding.DecodeString(*m.B)
	return webrtc.DataChannelMessage{Data: data}, err
}

// addAudio: an Opus track that plays the packets of sendPath (20 ms each, looped), or a
// receive-only audio transceiver when there is nothing to send; received packets are counted
// and their payloads appended to recordPath (if given).
func (p *peer) addAudio(sendPath, recordPath string) error {
	if recordPath != "" {
		f, err := os.Create(recordPath)
		if err != nil {
			return err
		}
		p.record = f
	}
	if sendPath == "" {
		_, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		return err
	}
	packets, err := readPackets(sendPath)
	if err != nil {
		return err
	}
	track, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"audio", "pion")
	if err != nil {
		return err
	}
	sender, err := p.pc.AddTrack(track)
	if err != nil {
		return err
	}
	go func() { // RTCP must be read for the interceptors to see it
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for i := 0; ; i++ {
			<-ticker.C
			if p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
			sample := media.Sample{Data: packets[i%len(packets)], Duration: 20 * time.Millisecond}
			if err := track.WriteSample(sample); err != nil {
				return
			}
		}
	}()
	return nil
}

func readPackets(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var packets [][]byte
	for len(data) >= 2 {
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, errors.New("truncated packet file")
		}
		packets = append(packets, data[2:2+n])
		data = data[2+n:]
	}
	if len(packets) == 0 {
		return nil, errors.New("no packets")
	}
	return packets, nil
}

func (p *peer) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		p.onVideo(track)
		return
	}
	for {
		packet, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		p.mu.Lock()
		if p.audio.Packets == 0 {
			p.audio.first = now
		}
		p.audio.Packets++
		p.audio.last = now
		p.audio.PayloadType = packet.PayloadType
		p.audio.MimeType = track.Codec().MimeType
		if p.record != nil {
			var size [2]byte
			binary.BigEndian.PutUint16(size[:], uint16(len(packet.Payload)))
			p.record.Write(size[:])
			p.record.Write(packet.Payload)
		}
		p.mu.Unlock()
	}
}

func serve(loopback, lite bool) error {
	api, err := newAPI(loopback, lite)
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p := &peer{pc: pc, channels: map[string]*channel{}}
	pc.OnDataChannel(func(dc *webrtc.DataChannel) { p.adopt(dc) })
	pc.OnTrack(p.onTrack)
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 64<<20)
	var running sync.WaitGroup
	for lines.Scan() {
		var r request
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			return err
		}
		if r.Cmd == "quit" {
			break
		}
		running.Add(1)
		go func() {
			defer running.Done()
			ok, err := p.handle(r)
			reply(r.ID, ok, err)
		}()
	}
	err = pc.Close()
	running.Wait()
	if p.record != nil {
		p.record.Close()
	}
	return err
}

func main() {
	loopback := flag.Bool("loopback", false, "gather host candidates on lo (127.0.0.1) only")
	lite := flag.Bool("lite", false, "ICE-lite")
	flag.Parse()
	var err error
	if flag.Arg(0) == "bench" {
		err = bench(flag.Arg(1))
	} else {
		err = serve(*loopback, *lite)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(os.Stderr, strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}
