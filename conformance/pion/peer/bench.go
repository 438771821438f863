package main

// Pion to Pion, two peer connections in this process, as bench/peerconnection.py measures
// pywebrtc to pywebrtc: the default API (no loopback, all interfaces), non-trickle signaling
// handed over in process, certificates made by the constructors outside the timed part.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/pion/webrtc/v3"
)

const (
	benchTotal     = 32 * 1024 * 1024
	benchHighWater = 1024 * 1024
)

// benchMessage is 64 KiB less one byte: Pion v3.1 reads each message into a 65535-byte
// buffer (datachannel.go, dataChannelBufferSize) and closes the channel on a 65536-byte one.
const benchMessage = 64*1024 - 1

func bench(mode string) error {
	var run func() (float64, error)
	switch mode {
	case "setup":
		run = setupMs
	case "setup-cpu":
		run = setupCPUMs
	case "throughput":
		run = throughputMbps
	default:
		return fmt.Errorf("bench setup|setup-cpu|throughput, not %q", mode)
	}
	if _, err := run(); err != nil { // warm up, as the Python process is warm
		return err
	}
	value, err := run()
	if err == nil {
		fmt.Println(value)
	}
	return err
}

func benchPair() (*webrtc.PeerConnection, *webrtc.PeerConnection, error) {
	a, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	b, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	return a, b, err
}

func negotiate(a, b *webrtc.PeerConnection) error {
	offer, err := a.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err = a.SetLocalDescription(offer); err != nil {
		return err
	}
	<-webrtc.GatheringCompletePromise(a)
	if err = b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		return err
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err = b.SetLocalDescription(answer); err != nil {
		return err
	}
	<-webrtc.GatheringCompletePromise(b)
	return a.SetRemoteDescription(*b.LocalDescription())
}

func await(done <-chan time.Time, timeout time.Duration) (time.Time, error) {
	select {
	case end := <-done:
		return end, nil
	case <-time.After(timeout):
		return time.Time{}, errors.New("timed out")
	}
}

func setupMs() (float64, error) {
	a, b, err := benchPair()
	if err != nil {
		return 0, err
	}
	defer a.Close()
	defer b.Close()
	delivered := make(chan time.Time, 1)
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(webrtc.DataChannelMessage) {
			select {
			case delivered <- time.Now():
			default:
			}
		})
	})
	start := time.Now()
	dc, err := a.CreateDataChannel("setup", nil)
	if err != nil {
		return 0, err
	}
	dc.OnOpen(func() { _ = dc.SendText("first") })
	if err := negotiate(a, b); err != nil {
		return 0, err
	}
	end, err := await(delivered, 30*time.Second)
	return float64(end.Sub(start).Microseconds()) / 1000, err
}

// cpuSeconds is this process's user + system CPU time (all threads, the Go runtime's too).
func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

// setupCPUMs is the CPU time of one whole setupMs (both constructors, the setup, both
// closes), as bench/peerconnection.py's _cpu_ms measures its own with time.process_time.
func setupCPUMs() (float64, error) {
	before := cpuSeconds()
	if _, err := setupMs(); err != nil {
		return 0, err
	}
	return (cpuSeconds() - before) * 1000, nil
}

func throughputMbps() (float64, error) {
	a, b, err := benchPair()
	if err != nil {
		return 0, err
	}
	defer a.Close()
	defer b.Close()
	count := benchTotal / benchMessage
	done := make(chan time.Time, 1)
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		received := 0 // OnMessage runs on the channel's one read loop
		dc.OnMessage(func(webrtc.DataChannelMessage) {
			received++
			if received == count {
				done <- time.Now()
			}
		})
	})
	dc, err := a.CreateDataChannel("bulk", nil)
	if err != nil {
		return 0, err
	}
	opened := make(chan time.Time, 1)
	dc.OnOpen(func() { opened <- time.Now() })
	if err := negotiate(a, b); err != nil {
		return 0, err
	}
	if _, err := await(opened, 30*time.Second); err != nil {
		return 0, err
	}
	dc.SetBufferedAmountLowThreshold(benchHighWater / 2)
	low := make(chan struct{}, 1)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	payload := make([]byte, benchMessage)
	if _, err := rand.Read(payload); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < count; i++ {
		for dc.BufferedAmount() > benchHighWater {
			select {
			case <-low:
			case <-time.After(10 * time.Millisecond): // a low event that came before the drain
			}
		}
		if err := dc.Send(payload); err != nil {
			return 0, err
		}
	}
	end, err := await(done, 120*time.Second)
	return float64(count*benchMessage*8) / end.Sub(start).Seconds() / 1e6, err
}
