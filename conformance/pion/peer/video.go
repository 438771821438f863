package main

// Video commands: "video" adds one VP8 track, either playing an IVF file (send) at 30 frames a
// second with Pion's ivfreader, or, with reflect, echoing the remote video track's RTP packets
// onto it as Pion's examples/reflect does (Pion's TrackLocalStaticRTP rewrites SSRC and payload
// type; a PLI or FIR from the far side is passed upstream as a PLI on the remote track).
// "video_stats" counts what arrived on the remote video track and what was reflected.

import (
	"errors"
	"os"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
)

type videoStats struct {
	Packets        int    `json:"packets"`
	Reflected      int    `json:"reflected"`
	MimeType       string `json:"mimeType"`
	KeyframeAsks   int    `json:"keyframeAsks"` // PLI/FIR from the far side on our sender
	PLIsSent       int    `json:"plisSent"`     // PLIs we sent upstream (reflect)
	SamplesWritten int    `json:"samplesWritten"`
}

func (p *peer) addVideo(sendPath string, reflect bool) error {
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	var track webrtc.TrackLocal
	var frames [][]byte
	switch {
	case reflect:
		out, err := webrtc.NewTrackLocalStaticRTP(vp8, "video", "pion")
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.videoOut = out
		p.mu.Unlock()
		track = out
	case sendPath != "":
		var err error
		if frames, err = readIVF(sendPath); err != nil {
			return err
		}
		if track, err = webrtc.NewTrackLocalStaticSample(vp8, "video", "pion"); err != nil {
			return err
		}
	default:
		return errors.New("video: send or reflect")
	}
	sender, err := p.pc.AddTrack(track)
	if err != nil {
		return err
	}
	go func() { // RTCP must be read for the interceptors; keyframe requests go upstream
		for {
			packets, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, packet := range packets {
				switch packet.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					p.mu.Lock()
					p.video.KeyframeAsks++
					p.mu.Unlock()
					p.askKeyframe()
				}
			}
		}
	}()
	if frames != nil {
		go p.play(frames, track.(*webrtc.TrackLocalStaticSample))
	}
	return nil
}

// askKeyframe sends a PLI for the remote video track, when reflecting one.
func (p *peer) askKeyframe() {
	p.mu.Lock()
	remote := p.videoIn
	reflect := p.videoOut != nil
	p.mu.Unlock()
	if remote == nil || !reflect {
		return
	}
	pli := &rtcp.PictureLossIndication{MediaSSRC: uint32(remote.SSRC())}
	if p.pc.WriteRTCP([]rtcp.Packet{pli}) == nil {
		p.mu.Lock()
		p.video.PLIsSent++
		p.mu.Unlock()
	}
}

// readIVF: the frames of an IVF file, in order.
func readIVF(path string) ([][]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	reader, _, err := ivfreader.NewWith(file)
	if err != nil {
		return nil, err
	}
	var frames [][]byte
	for {
		frame, _, err := reader.ParseNextFrame()
		if err != nil {
			break
		}
		frames = append(frames, frame)
	}
	if len(frames) == 0 {
		return nil, errors.New("no frames in the IVF file")
	}
	return frames, nil
}

// play writes the frames as samples, 30 a second, from the start again after the last.
func (p *peer) play(frames [][]byte, track *webrtc.TrackLocalStaticSample) {
	ticker := time.NewTicker(time.Second / 30)
	defer ticker.Stop()
	for i := 0; ; i++ {
		<-ticker.C
		if p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
			return
		}
		sample := media.Sample{Data: frames[i%len(frames)], Duration: time.Second / 30}
		if err := track.WriteSample(sample); err != nil {
			return
		}
		p.mu.Lock()
		p.video.SamplesWritten++
		p.mu.Unlock()
	}
}

func (p *peer) onVideo(track *webrtc.TrackRemote) {
	p.mu.Lock()
	p.videoIn = track
	p.video.MimeType = track.Codec().MimeType
	p.mu.Unlock()
	p.askKeyframe()
	for {
		packet, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.video.Packets++
		out := p.videoOut
		p.mu.Unlock()
		if out != nil {
			if out.WriteRTP(packet) == nil {
				p.mu.Lock()
				p.video.Reflected++
				p.mu.Unlock()
			}
		}
	}
}
