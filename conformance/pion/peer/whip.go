package main

// A WHIP client (RFC 9725) for the tests of pywebrtc-signaling (tests/signaling/test_pion.py):
//
//	{"cmd": "whip", "url": ".../whip", "token": "..."}   POST the offer as application/sdp at
//	    once (before gathering: no candidates), set the answer, then trickle every candidate
//	    and end-of-candidates in one PATCH (application/trickle-ice-sdpfrag, If-Match: the
//	    ETag, RFC 8840 fragment); replies with the statuses, Location, ETag and the answer.
//	{"cmd": "whip_delete"}                                 DELETE the resource; its status.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pion/webrtc/v3"
)

type whipSession struct {
	resource string
	etag     string
	token    string
}

func whipRequest(method, target, token, contentType, body string, header map[string]string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	return resp, string(text), err
}

// sdpValue: the value of the first "a=name:" line (or, for "m=", the whole first m= line).
func sdpValue(sdp, prefix string) string {
	for _, line := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(line, prefix) {
			if prefix == "m=" {
				return line
			}
			return strings.TrimPrefix(line, prefix)
		}
	}
	return ""
}

func (p *peer) whip(endpoint, token string) (interface{}, error) {
	gathered := make(chan struct{})
	var candidates []string
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			close(gathered)
			return
		}
		p.mu.Lock()
		candidates = append(candidates, c.ToJSON().Candidate)
		p.mu.Unlock()
	})
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	resp, answer, err := whipRequest("POST", endpoint, token, "application/sdp", offer.SDP, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST %d: %s", resp.StatusCode, answer)
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	location, err := base.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	session := &whipSession{resource: location.String(), etag: resp.Header.Get("ETag"), token: token}
	p.mu.Lock()
	p.whipSession = session
	p.mu.Unlock()
	err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	if err != nil {
		return nil, err
	}
	select {
	case <-gathered:
	case <-time.After(waitTimeout):
		return nil, errors.New("ICE gathering did not complete")
	}
	local := p.pc.LocalDescription().SDP
	fragment := "a=ice-ufrag:" + sdpValue(local, "a=ice-ufrag:") + "\r\n" +
		"a=ice-pwd:" + sdpValue(local, "a=ice-pwd:") + "\r\n" +
		sdpValue(local, "m=") + "\r\n" +
		"a=mid:" + sdpValue(local, "a=mid:") + "\r\n"
	p.mu.Lock()
	for _, c := range candidates {
		fragment += "a=" + c + "\r\n"
	}
	trickled := len(candidates)
	p.mu.Unlock()
	fragment += "a=end-of-candidates\r\n"
	patch, text, err := whipRequest("PATCH", session.resource, token,
		"application/trickle-ice-sdpfrag", fragment, map[string]string{"If-Match": session.etag})
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{
		"status":             resp.StatusCode,
		"location":           resp.Header.Get("Location"),
		"etag":               session.etag,
		"contentType":        resp.Header.Get("Content-Type"),
		"answer":             answer,
		"offerHadCandidates": strings.Contains(offer.SDP, "a=candidate"),
		"patch":              patch.StatusCode,
		"patchBody":          text,
		"trickled":           trickled,
	}, nil
}

func (p *peer) whipDelete() (interface{}, error) {
	p.mu.Lock()
	session := p.whipSession
	p.mu.Unlock()
	if session == nil {
		return nil, errors.New("no WHIP session")
	}
	resp, _, err := whipRequest("DELETE", session.resource, session.token, "", "", nil)
	if err != nil {
		return nil, err
	}
	return map[string]int{"status": resp.StatusCode}, nil
}
