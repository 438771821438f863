// pionav1 runs Pion's AV1 RTP payload code (Debian's github.com/pion/rtp/codecs) over JSON
// lines on stdin, one answer line each on stdout, for tests/rtp/video/test_pion_av1.py:
//
//	{"op": "parse", "b": base64 payload}          -> Z, Y, W, N and the OBU elements
//	{"op": "pay", "mtu": n, "b": base64 frame}    -> the RTP payloads Pion makes
package main

import (
	"bufio"
	"encoding/json"
	"os"

	"github.com/pion/rtp/codecs"
)

type request struct {
	Op  string `json:"op"`
	Mtu uint16 `json:"mtu"`
	B   []byte `json:"b"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	payloader := &codecs.AV1Payloader{}
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		var answer interface{}
		switch req.Op {
		case "parse":
			var p codecs.AV1Packet
			if _, err := p.Unmarshal(req.B); err != nil {
				answer = map[string]string{"error": err.Error()}
			} else {
				answer = map[string]interface{}{
					"Z": p.Z, "Y": p.Y, "W": p.W, "N": p.N, "OBUElements": p.OBUElements,
				}
			}
		case "pay":
			answer = payloader.Payload(req.Mtu, req.B)
		}
		if err := out.Encode(answer); err != nil {
			panic(err)
		}
	}
}
