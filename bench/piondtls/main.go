// Command piondtls is Pion's side of bench/dtls.py: DTLS 1.2 handshakes with Debian's
// pion/dtls v2, configured as pywebrtc's are in that bench (ECDSA P-256 certificate on both
// sides, mutual authentication checked by SHA-256 fingerprint as WebRTC does, x25519,
// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, extended master secret, use_srtp offering
// SRTP_AEAD_AES_128_GCM and SRTP_AES128_CM_HMAC_SHA1_80, and no HelloVerifyRequest: the
// server's InsecureSkipVerifyHello, as WebRTC's ICE has checked the address).
//
//	piondtls -cert CRT -key KEY
//
// Commands, one per stdin line; each gets one JSON line on stdout:
//
//	serve             a DTLS server on 127.0.0.1 (a free port), accepting until stdin closes:
//	                  {"port"}
//	dial HOST:PORT N  N client handshakes one after another, each from a new UDP socket:
//	                  {"ms": [...]}, each the wall time from the client's start (the socket
//	                  already open) to its handshake being done, when it may send
//	cpu N             one warm-up handshake, then N handshakes, client and server in this
//	                  process over an in-memory packet pipe: {"cpu_ms"} (this process's CPU
//	                  time, user + system, all threads, per handshake), {"wall_ms"} likewise
//
// Errors are {"error"}. The program ends when stdin closes.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/crypto/elliptic"
	"github.com/pion/transport/v2/packetio"
)

func configs(certFile, keyFile string) (client, server *dtls.Config, err error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	// Both sides use the same certificate, so each expects the other's fingerprint to be its own.
	want := sha256.Sum256(cert.Certificate[0])
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("no certificate")
		}
		got := sha256.Sum256(raw[0])
		if !bytes.Equal(got[:], want[:]) {
			return errors.New("fingerprint mismatch")
		}
		return nil
	}
	base := dtls.Config{
		Certificates:           []tls.Certificate{cert},
		CipherSuites:           []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		EllipticCurves:         []elliptic.Curve{elliptic.X25519},
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret,
		InsecureSkipVerify:     true, // the chain is not checked: the fingerprint is, as in WebRTC
		VerifyPeerCertificate:  verify,
	}
	c, s := base, base
	s.ClientAuth = dtls.RequireAnyClientCert
	s.InsecureSkipVerifyHello = true
	return &c, &s, nil
}

// serve accepts DTLS connections on 127.0.0.1 until stop is closed (then it closes the
// listener); each is read (and so answered) until its peer closes it.
func serve(config *dtls.Config, stop <-chan struct{}) (int, error) {
	listener, err := dtls.Listen("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, config)
	if err != nil {
		return 0, err
	}
	go func() {
		<-stop
		listener.Close()
	}()
	go func() {
		for {
			conn, err := listener.Accept() // the handshake happens in here
			if err != nil {
				select {
				case <-stop:
					return
				default:
				}
				fmt.Fprintln(os.Stderr, "piondtls: accept:", err)
				continue
			}
			go func() {
				buf := make([]byte, 1500)
				for {
					if _, err := conn.Read(buf); err != nil {
						conn.Close()
						return
					}
				}
			}()
		}
	}()
	return listener.Addr().(*net.UDPAddr).Port, nil
}

func dial(config *dtls.Config, address string, n int) ([]float64, error) {
	raddr, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return nil, err
	}
	times := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		socket, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		conn, err := dtls.Client(socket, config) // returns once the handshake is done
		elapsed := time.Since(start)
		if err != nil {
			socket.Close()
			return nil, err
		}
		times = append(times, float64(elapsed.Microseconds())/1000)
		conn.Close()
	}
	return times, nil
}

// pipeConn is one end of an in-memory datagram pipe (pion/transport's packetio buffers).
type pipeConn struct{ in, out *packetio.Buffer }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

func (p *pipeConn) Read(b []byte) (int, error)         { return p.in.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error)        { return p.out.Write(b) }
func (p *pipeConn) Close() error                       { p.in.Close(); return p.out.Close() }
func (p *pipeConn) LocalAddr() net.Addr                { return pipeAddr{} }
func (p *pipeConn) RemoteAddr() net.Addr               { return pipeAddr{} }
func (p *pipeConn) SetDeadline(t time.Time) error      { return p.in.SetReadDeadline(t) }
func (p *pipeConn) SetReadDeadline(t time.Time) error  { return p.in.SetReadDeadline(t) }
func (p *pipeConn) SetWriteDeadline(_ time.Time) error { return nil }

func inMemory(client, server *dtls.Config) error {
	a, b := packetio.NewBuffer(), packetio.NewBuffer()
	done := make(chan error, 1)
	go func() {
		conn, err := dtls.Server(&pipeConn{in: a, out: b}, server)
		if err == nil {
			err = conn.Close()
		}
		done <- err
	}()
	conn, err := dtls.Client(&pipeConn{in: b, out: a}, client)
	if err != nil {
		return err
	}
	if _, ok := conn.SelectedSRTPProtectionProfile(); !ok {
		return errors.New("no SRTP profile negotiated")
	}
	serverErr := <-done
	conn.Close()
	return serverErr
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func cpu(client, server *dtls.Config, n int) (map[string]any, error) {
	if err := inMemory(client, server); err != nil {
		return nil, err
	}
	start, wall := cpuSeconds(), time.Now()
	for i := 0; i < n; i++ {
		if err := inMemory(client, server); err != nil {
			return nil, err
		}
	}
	return map[string]any{
		"cpu_ms":  (cpuSeconds() - start) * 1000 / float64(n),
		"wall_ms": float64(time.Since(wall).Microseconds()) / 1000 / float64(n),
		"n":       n,
	}, nil
}

func handle(line string, client, server *dtls.Config, stop <-chan struct{}) (any, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, errors.New("empty command")
	}
	count := func(i int) (int, error) {
		if len(fields) <= i {
			return 0, errors.New("missing count")
		}
		return strconv.Atoi(fields[i])
	}
	switch fields[0] {
	case "serve":
		port, err := serve(server, stop)
		if err != nil {
			return nil, err
		}
		return map[string]int{"port": port}, nil
	case "dial":
		n, err := count(2)
		if err != nil {
			return nil, err
		}
		times, err := dial(client, fields[1], n)
		if err != nil {
			return nil, err
		}
		return map[string][]float64{"ms": times}, nil
	case "cpu":
		n, err := count(1)
		if err != nil {
			return nil, err
		}
		return cpu(client, server, n)
	}
	return nil, fmt.Errorf("unknown command %q", fields[0])
}

func main() {
	certFile := flag.String("cert", "", "PEM certificate (ECDSA P-256)")
	keyFile := flag.String("key", "", "PEM private key")
	flag.Parse()
	client, server, err := configs(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "piondtls:", err)
		os.Exit(2)
	}
	stop := make(chan struct{})
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		answer, err := handle(in.Text(), client, server, stop)
		if err != nil {
			answer = map[string]string{"error": err.Error()}
		}
		if err := out.Encode(answer); err != nil {
			os.Exit(1)
		}
	}
	close(stop)
}
