package radius

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc3576"
)

// fakeNAS answers RFC 5176 requests the way answer says, after checking
// their signatures with layeh's code and an independent HMAC.
func fakeNAS(t *testing.T, answer func(*radius.Packet) *radius.Packet) (uint16, <-chan *radius.Packet) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan *radius.Packet, 10)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			b := append([]byte(nil), buf[:n]...)
			if !radius.IsAuthenticRequest(b, []byte(testSecret)) {
				t.Errorf("NAS got a badly signed request")
				continue
			}
			p, err := radius.Parse(b, []byte(testSecret))
			if err != nil {
				t.Errorf("NAS got a malformed request: %v", err)
				continue
			}
			// Message-Authenticator over the packet with zeroed
			// authenticator and attribute value.
			c := append([]byte(nil), b...)
			clear(c[4:20])
			ma := p.Get(attrMessageAuthenticator)
			for off := 20; off < len(c); off += int(c[off+1]) {
				if c[off] == attrMessageAuthenticator {
					clear(c[off+2 : off+18])
				}
			}
			h := hmac.New(md5.New, []byte(testSecret))
			h.Write(c)
			if !hmac.Equal(h.Sum(nil), ma) {
				t.Errorf("NAS got a bad Message-Authenticator")
			}
			got <- p
			if r := answer(p); r != nil {
				out, err := r.Encode()
				if err != nil {
					t.Error(err)
					return
				}
				conn.WriteToUDP(out, from)
			}
		}
	}()
	return uint16(conn.LocalAddr().(*net.UDPAddr).Port), got
}

func TestSendChange(t *testing.T) {
	var mode atomic.Value
	port, got := fakeNAS(t, func(p *radius.Packet) *radius.Packet {
		switch mode.Load() {
		case "ack":
			if p.Code == radius.CodeCoARequest {
				return p.Response(radius.CodeCoAACK)
			}
			return p.Response(radius.CodeDisconnectACK)
		case "nak":
			r := p.Response(radius.CodeDisconnectNAK)
			rfc3576.ErrorCause_Set(r, rfc3576.ErrorCause_Value_SessionContextNotFound)
			return r
		}
		return nil
	})
	in := testInput(MANever)
	in.Clients[0].CoAPort = port
	ts := startServer(t, Config{}, in)
	req := ChangeRequest{NAS: "local", UserName: "demo1@DEMO", SessionID: "81004668", FramedIP: netip.MustParseAddr("192.0.2.10")}

	mode.Store("ack")
	res, err := ts.s.SendChange(context.Background(), req)
	if err != nil || !res.ACK() || res.Code != CodeDisconnectACK {
		t.Fatalf("disconnect: %v %v", res, err)
	}
	p := <-got
	if p.Code != radius.CodeDisconnectRequest || rfc2865.UserName_GetString(p) != "demo1@DEMO" ||
		rfc2866.AcctSessionID_GetString(p) != "81004668" || rfc2865.FramedIPAddress_Get(p).String() != "192.0.2.10" {
		t.Errorf("NAS got %v %q %q %v", p.Code, rfc2865.UserName_GetString(p), rfc2866.AcctSessionID_GetString(p), rfc2865.FramedIPAddress_Get(p))
	}

	coa := req
	coa.CoA = true
	coa.Attrs = []Attr{VendorAttr(14988, 8, []byte("1M/1M"))}
	res, err = ts.s.SendChange(context.Background(), coa)
	if err != nil || res.Code != CodeCoAACK {
		t.Fatalf("coa: %v %v", res, err)
	}
	if p := <-got; p.Code != radius.CodeCoARequest || len(p.Get(rfc2865.VendorSpecific_Type)) == 0 {
		t.Errorf("CoA-Request without its attributes")
	}

	mode.Store("nak")
	res, err = ts.s.SendChange(context.Background(), req)
	if err != nil || res.ACK() || res.ErrorCause != 503 {
		t.Fatalf("nak: %v %v", res, err)
	}
	<-got

	mode.Store("silent")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err = ts.s.SendChange(ctx, req)
	if err != nil || !res.Timeout {
		t.Fatalf("silent NAS: %v %v", res, err)
	}
	for _, r := range []string{"ack", "nak", "timeout"} {
		if counterValue(ts.reg, "maillon_radius_change_requests_total", map[string]string{"result": r}) == 0 {
			t.Errorf("no %s counted", r)
		}
	}
	if _, err := ts.s.SendChange(context.Background(), ChangeRequest{NAS: "nowhere"}); err == nil {
		t.Error("change request to an unknown NAS did not fail")
	}
}
