package dns

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// chunkBytes bounds the records of one transfer message, well under the
// 64 KiB a TCP message can hold.
const chunkBytes = 16000

// transfer answers an AXFR or IXFR over TCP.
func (s *Server) transfer(w mdns.ResponseWriter, req *mdns.Msg, src netip.Addr, tsigKey string) error {
	snap := s.snap.Load()
	q := req.Question[0]
	z := snap.Zone(q.Name)
	if z == nil || !z.allowTransfer(src, tsigKey) {
		m := new(mdns.Msg)
		m.SetRcode(req, mdns.RcodeRefused)
		if z == nil {
			m.Rcode = mdns.RcodeNotAuth
		}
		if tsigKey != "" {
			t := req.IsTsig()
			m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
		}
		s.stats.refused.Add(1) // before the client hears of it
		w.WriteMsg(m)
		return fmt.Errorf("%s refused", mdns.TypeToString[q.Qtype])
	}
	s.stats.transfers.Add(1)
	var rrs []mdns.RR
	if q.Qtype == mdns.TypeIXFR {
		rrs = z.ixfr(req)
	} else {
		rrs = z.axfr()
	}
	ch := make(chan *mdns.Envelope)
	tr := new(mdns.Transfer)
	errc := make(chan error, 1)
	go func() { errc <- tr.Out(w, req, ch) }()
	var chunk []mdns.RR
	size := 0
	send := func() bool {
		select {
		case ch <- &mdns.Envelope{RR: chunk}:
			chunk, size = nil, 0
			return true
		case err := <-errc:
			errc <- err
			return false
		}
	}
	for _, rr := range rrs {
		chunk = append(chunk, rr)
		size += mdns.Len(rr)
		if size >= chunkBytes && !send() {
			break
		}
	}
	if len(chunk) > 0 {
		send()
	}
	close(ch)
	err := <-errc
	w.Close()
	if err != nil {
		return fmt.Errorf("%s of %s: %w", mdns.TypeToString[q.Qtype], z.origin, err)
	}
	return nil
}

// axfr lists the zone as AXFR sends it: SOA, records, SOA.
func (z *Zone) axfr() []mdns.RR {
	out := make([]mdns.RR, 0, z.count.len()+2)
	out = append(out, z.soa)
	out = z.appendRecords(out)
	return append(out, z.soa)
}

// ixfr lists the incremental transfer from the client's serial (RFC 1995),
// falling back to the whole zone when the journal does not reach back to it.
func (z *Zone) ixfr(req *mdns.Msg) []mdns.RR {
	var have *mdns.SOA
	for _, rr := range req.Ns {
		if s, ok := rr.(*mdns.SOA); ok {
			have = s
		}
	}
	if have == nil {
		return z.axfr()
	}
	if have.Serial == z.serial || serialAfter(have.Serial, z.serial) {
		return []mdns.RR{z.soa}
	}
	start := -1
	for i, d := range z.journal {
		if d.From == have.Serial {
			start = i
			break
		}
	}
	if start < 0 {
		return z.axfr()
	}
	out := []mdns.RR{z.soa}
	for _, d := range z.journal[start:] {
		out = append(out, z.soaAt(d.From))
		out = append(out, d.Deleted...)
		out = append(out, z.soaAt(d.To))
		out = append(out, d.Added...)
	}
	return append(out, z.soa)
}

func (z *Zone) soaAt(serial uint32) *mdns.SOA {
	s := *z.soa
	s.Serial = serial
	return &s
}

// serialAfter reports whether a comes after b in RFC 1982 serial arithmetic.
func serialAfter(a, b uint32) bool {
	return a != b && int32(a-b) > 0
}

// sendNotify tells one secondary that the zone changed, retrying until it
// acknowledges (RFC 1996).
func (s *Server) sendNotify(ctx context.Context, snap *Snapshot, z *Zone, sec Secondary) error {
	m := new(mdns.Msg)
	m.SetNotify(z.origin)
	m.Answer = []mdns.RR{z.soa}
	c := &mdns.Client{Net: "udp", Timeout: s.cfg.NotifyTimeout}
	if sec.Key != "" {
		k, ok := snap.keys[canonical(sec.Key)]
		if !ok {
			return fmt.Errorf("unknown TSIG key %s", sec.Key)
		}
		c.TsigProvider = keyProvider(k)
		m.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
	}
	var err error
	wait := 500 * time.Millisecond
	for try := 0; try <= s.cfg.NotifyRetries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		var r *mdns.Msg
		r, _, err = c.ExchangeContext(ctx, m, sec.Addr)
		if err == nil && r.Rcode != mdns.RcodeSuccess {
			err = fmt.Errorf("rcode %s", mdns.RcodeToString[r.Rcode])
		}
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("notify %s to %s: %w", z.origin, sec.Addr, err)
}

// keyring looks TSIG keys up in the snapshot being served, so that key
// changes take effect with the zones.
type keyring struct{ s *Server }

func (k keyring) Generate(msg []byte, t *mdns.TSIG) ([]byte, error) {
	key, ok := k.s.snap.Load().keys[strings.ToLower(t.Hdr.Name)]
	if !ok {
		return nil, mdns.ErrSecret
	}
	return keyProvider(key).Generate(msg, t)
}

func (k keyring) Verify(msg []byte, t *mdns.TSIG) error {
	key, ok := k.s.snap.Load().keys[strings.ToLower(t.Hdr.Name)]
	if !ok {
		return mdns.ErrSecret
	}
	return keyProvider(key).Verify(msg, t)
}

// keyProvider signs with one key, and checks that the algorithm matches.
type keyProvider TSIGKey

func (k keyProvider) mac(msg []byte, t *mdns.TSIG) ([]byte, error) {
	if canonical(t.Algorithm) != canonical(k.Algorithm) {
		return nil, mdns.ErrKeyAlg
	}
	secret, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil {
		return nil, fmt.Errorf("TSIG key %s: %w", k.Name, err)
	}
	var h func() hash.Hash
	switch canonical(k.Algorithm) {
	case mdns.HmacSHA1:
		h = sha1.New
	case mdns.HmacSHA224:
		h = sha256.New224
	case mdns.HmacSHA256:
		h = sha256.New
	case mdns.HmacSHA384:
		h = sha512.New384
	case mdns.HmacSHA512:
		h = sha512.New
	default:
		return nil, mdns.ErrKeyAlg
	}
	m := hmac.New(h, secret)
	m.Write(msg)
	return m.Sum(nil), nil
}

func (k keyProvider) Generate(msg []byte, t *mdns.TSIG) ([]byte, error) { return k.mac(msg, t) }

func (k keyProvider) Verify(msg []byte, t *mdns.TSIG) error {
	want, err := k.mac(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, got) {
		return mdns.ErrSig
	}
	return nil
}

var errNoSOA = errors.New("transfer has no SOA")
