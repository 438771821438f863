package main

// A WHIP client (RFC 9725) for the tests of pywebrtc-signaling (tests/signaling/test_pion.py):
//
//	{"cmd": "whip", "url": ".../whip", "token": "..."}   POST the offer as application/sdp at
//	    once (before gathering: no candidates), set the answer, then trickle every candidate
//	    and end-of-candidates in one PATCH (application/trickle-ice-sdpfrag, If-Match: the
//	    ETag, RFC 8840 fragment); replies with the statuses, Location, ETag and the answer.
//	{"cmd": "whip_restart"}                                ICE restart (RFC 9725 section 4.4.2):
//	    an iceRestart offer, its new credentials PATCHed with If-Match: *, the answer's new
//	    credentials from the 200's fragment applied to the answer, then the new candidates
//	    trickled under the new ETag.
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

type gathering struct {
	candidates []string
	ended      bool
	done       chan struct{}
}

type whipSession struct {
	resource string
	etag     string
	token    string
	answer   string
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

// gathering collects the candidates of one gathering (the first, or an ICE restart's): called
// before SetLocalDescription, it returns a function that waits for the end of it. Pion keeps
// the handler of the first gathering for a restart's, so the handler looks up the current one.
func (p *peer) gathering() func() ([]string, error) {
	current := &gathering{done: make(chan struct{})}
	p.mu.Lock()
	p.gather = current
	p.mu.Unlock()
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		p.mu.Lock()
		defer p.mu.Unlock()
		g := p.gather
		switch {
		case g == nil || g.ended:
		case c == nil:
			g.ended = true
			close(g.done)
		default:
			g.candidates = append(g.candidates, c.ToJSON().Candidate)
		}
	})
	return func() ([]string, error) {
		select {
		case <-current.done:
		case <-time.After(waitTimeout):
			return nil, errors.New("ICE gathering did not complete")
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		return current.candidates, nil
	}
}

// fragment: an RFC 8840 sdpfrag with the local credentials of sdp, its first m= line and mid,
// and the candidates (end-of-candidates after them when end).
func fragment(sdp string, candidates []string, end bool) string {
	text := "a=ice-ufrag:" + sdpValue(sdp, "a=ice-ufrag:") + "\r\n" +
		"a=ice-pwd:" + sdpValue(sdp, "a=ice-pwd:") + "\r\n" +
		sdpValue(sdp, "m=") + "\r\n" + "a=mid:" + sdpValue(sdp, "a=mid:") + "\r\n"
	for _, c := range candidates {
		text += "a=" + c + "\r\n"
	}
	if end {
		text += "a=end-of-candidates\r\n"
	}
	return text
}

// trickle: every candidate of a gathering and end-of-candidates in one PATCH; its status.
func (p *peer) trickle(session *whipSession, wait func() ([]string, error)) (int, int, error) {
	candidates, err := wait()
	if err != nil {
		return 0, 0, err
	}
	p.mu.Lock()
	etag := session.etag
	p.mu.Unlock()
	body := fragment(p.pc.LocalDescription().SDP, candidates, true)
	resp, text, err := whipRequest("PATCH", session.resource, session.token,
		"application/trickle-ice-sdpfrag", body, map[string]string{"If-Match": etag})
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusNoContent {
		return 0, 0, fmt.Errorf("trickle PATCH %d: %s", resp.StatusCode, text)
	}
	return resp.StatusCode, len(candidates), nil
}

func (p *peer) whip(endpoint, token string) (interface{}, error) {
	wait := p.gathering()
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
	session := &whipSession{
		resource: location.String(), etag: resp.Header.Get("ETag"), token: token, answer: answer,
	}
	p.mu.Lock()
	p.whipSession = session
	p.mu.Unlock()
	err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	if err != nil {
		return nil, err
	}
	patch, trickled, err := p.trickle(session, wait)
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
		"patch":              patch,
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

func (p *peer) whipRestart() (interface{}, error) {
	p.mu.Lock()
	session := p.whipSession
	p.mu.Unlock()
	if session == nil {
		return nil, errors.New("no WHIP session")
	}
	wait := p.gathering()
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		return nil, err
	}
	resp, text, err := whipRequest("PATCH", session.resource, session.token,
		"application/trickle-ice-sdpfrag", fragment(offer.SDP, nil, false),
		map[string]string{"If-Match": "*"})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("restart PATCH %d: %s", resp.StatusCode, text)
	}
	oldUfrag, oldPwd := sdpValue(session.answer, "a=ice-ufrag:"), sdpValue(session.answer, "a=ice-pwd:")
	newUfrag, newPwd := sdpValue(text, "a=ice-ufrag:"), sdpValue(text, "a=ice-pwd:")
	answer := strings.ReplaceAll(session.answer, "a=ice-ufrag:"+oldUfrag, "a=ice-ufrag:"+newUfrag)
	answer = strings.ReplaceAll(answer, "a=ice-pwd:"+oldPwd, "a=ice-pwd:"+newPwd)
	err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	if err != nil {
		return nil, err
	}
	oldEtag := session.etag
	p.mu.Lock()
	session.answer = answer
	session.etag = resp.Header.Get("ETag")
	p.mu.Unlock()
	// The restart's own candidates follow, under the new ETag.
	patch, trickled, err := p.trickle(session, wait)
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{
		"oldUfrag": oldUfrag, "newUfrag": newUfrag, "oldEtag": oldEtag, "etag": session.etag,
		"fragment": text, "patch": patch, "trickled": trickled,
	}, nil
}
