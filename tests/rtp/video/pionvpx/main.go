// pionvpx runs Pion's VP8/VP9 RTP payload code (Debian's github.com/pion/rtp/codecs) over
// JSON lines on stdin, one answer line each on stdout, for tests/rtp/video/test_pion_vpx.py:
//
//	{"op": "parse8"|"parse9", "b": base64 payload}   -> the descriptor fields and the data
//	{"op": "pay8"|"pay9", "mtu": n, "b": base64 frame} -> the RTP payloads Pion makes
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
	vp8 := &codecs.VP8Payloader{EnablePictureID: true}
	vp9 := &codecs.VP9Payloader{InitialPictureIDFn: func() uint16 { return 1000 }}
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		var answer interface{}
		switch req.Op {
		case "parse8":
			var p codecs.VP8Packet
			if _, err := p.Unmarshal(req.B); err != nil {
				answer = map[string]string{"error": err.Error()}
			} else {
				answer = map[string]interface{}{
					"S": p.S, "PID": p.PID, "I": p.I, "PictureID": p.PictureID,
					"Payload": p.Payload, "head": p.IsPartitionHead(req.B),
				}
			}
		case "parse9":
			var p codecs.VP9Packet
			if _, err := p.Unmarshal(req.B); err != nil {
				answer = map[string]string{"error": err.Error()}
			} else {
				answer = p
			}
		case "pay8":
			answer = vp8.Payload(req.Mtu, req.B)
		case "pay9":
			answer = vp9.Payload(req.Mtu, req.B)
		}
		if err := out.Encode(answer); err != nil {
			panic(err)
		}
	}
}
