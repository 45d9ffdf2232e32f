package radius

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
)

// memStore is an AccountingStore in memory, idempotent on Key like the
// real one must be; it can be made to fail or to block.
type memStore struct {
	mu      sync.Mutex
	recs    map[string]Record
	order   []string
	calls   int
	batches []int
	fail    bool
	gate    chan struct{} // when set, WriteBatch waits on it once...
	entered chan struct{} // ...after closing this
}

func newMemStore() *memStore { return &memStore{recs: map[string]Record{}} }

func (m *memStore) WriteBatch(ctx context.Context, recs []Record) error {
	m.mu.Lock()
	gate := m.gate
	m.gate = nil
	m.mu.Unlock()
	if gate != nil {
		close(m.entered)
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail {
		return errors.New("database is down")
	}
	m.batches = append(m.batches, len(recs))
	for _, r := range recs {
		if _, dup := m.recs[r.Key]; !dup {
			m.recs[r.Key] = r
			m.order = append(m.order, r.Key)
		}
	}
	return nil
}

func (m *memStore) setFail(v bool) {
	m.mu.Lock()
	m.fail = v
	m.mu.Unlock()
}

func (m *memStore) snapshot() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, k := range m.order {
		out = append(out, m.recs[k])
	}
	return out
}

func startAcctServer(t *testing.T, store *memStore) *testServer {
	t.Helper()
	dir := t.TempDir()
	ts := startServer(t, Config{Accounting: store, SpoolDir: dir}, testInput(MANever))
	t.Cleanup(func() {
		ts.stop()
		if err := ts.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ts
}

// interim is the reference trace's Interim-Update, for the known
// subscriber p1f9bd1@NEUTRINET.
func interim(t testing.TB, delay uint32) *radius.Packet {
	p := radius.New(radius.CodeAccountingRequest, []byte(testSecret))
	rfc2865.UserName_SetString(p, "p1f9bd1@NEUTRINET")
	rfc2865.CallingStationID_SetString(p, "08:55:31:FA:75:4E")
	p.Add(attrNASPortID, []byte("XE02-VL164-02GIL0-P0BIS"))
	rfc2866.AcctSessionID_SetString(p, "81004567")
	rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_InterimUpdate)
	rfc2866.AcctSessionTime_Set(p, 36721)
	rfc2866.AcctInputOctets_Set(p, 184624542)
	rfc2869.AcctInputGigawords_Set(p, 2)
	rfc2866.AcctOutputOctets_Set(p, 766528680)
	rfc2869.AcctOutputGigawords_Set(p, 0)
	rfc2866.AcctInputPackets_Set(p, 771960)
	rfc2866.AcctDelayTime_Set(p, rfc2866.AcctDelayTime(delay))
	rfc2865.FramedIPAddress_Set(p, []byte{100, 126, 255, 5})
	rfc2865.ProxyState_Set(p, []byte("36"))
	return p
}

func encodeAcct(t testing.TB, p *radius.Packet) []byte {
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAccountingGoesToStoreOnce(t *testing.T) {
	store := newMemStore()
	ts := startAcctServer(t, store)
	raw := encodeAcct(t, interim(t, 0))
	first := exchange(t, ts.acct, raw, 2*time.Second)
	if first == nil {
		t.Fatal("no Accounting-Response")
	}
	if !radius.IsAuthenticResponse(first, raw, []byte(testSecret)) {
		t.Fatal("Accounting-Response badly signed")
	}
	rep, _ := radius.Parse(first, []byte(testSecret))
	if rep.Code != radius.CodeAccountingResponse || string(rfc2865.ProxyState_Get(rep)) != "36" {
		t.Fatalf("reply %v, Proxy-State %q", rep.Code, rfc2865.ProxyState_Get(rep))
	}
	// The same packet again: the cached reply, no second record.
	second := exchange(t, ts.acct, raw, 2*time.Second)
	if !bytes.Equal(first, second) {
		t.Error("retransmission got a different reply")
	}
	// The NAS's retransmission with a new Acct-Delay-Time is a new packet
	// but the same event.
	raw2 := encodeAcct(t, interim(t, 5))
	if exchange(t, ts.acct, raw2, 2*time.Second) == nil {
		t.Fatal("no reply to the delayed retransmission")
	}
	recs := store.snapshot()
	if len(recs) != 1 {
		t.Fatalf("%d records stored, want 1", len(recs))
	}
	r := recs[0]
	if r.Status != AcctInterim || r.SessionID != "81004567" || r.NAS != "local" {
		t.Errorf("record %+v", r)
	}
	if r.InputOctets != 2<<32+184624542 || r.OutputOctets != 766528680 {
		t.Errorf("64-bit counters: in %d out %d", r.InputOctets, r.OutputOctets)
	}
	if r.Member != "m-1" || r.Subscription != "s-1" || r.FramedIPv4.String() != "100.126.255.5" {
		t.Errorf("member %q subscription %q ip %s", r.Member, r.Subscription, r.FramedIPv4)
	}
	if r.InterimInterval != 60 || r.SessionTime != 36721 || r.CallingStationID != "08:55:31:FA:75:4E" {
		t.Errorf("record %+v", r)
	}
	// No Event-Timestamp and no delay: the event is when it arrived.
	if !r.EventTime.Equal(traceTime) || !r.Received.Equal(traceTime) {
		t.Errorf("event time %v received %v, want %v", r.EventTime, r.Received, traceTime)
	}
}

func TestAccountingWrongSecretDropped(t *testing.T) {
	store := newMemStore()
	ts := startAcctServer(t, store)
	p := interim(t, 0)
	p.Secret = []byte("wrong")
	if exchange(t, ts.acct, encodeAcct(t, p), 300*time.Millisecond) != nil {
		t.Fatal("answered an Accounting-Request signed with the wrong secret")
	}
	waitFor(t, func() bool { return ts.drops(dropBadAuth) == 1 })
	if len(store.snapshot()) != 0 {
		t.Error("stored a forged record")
	}
}

func TestAccountingSpoolsWhileStoreIsDown(t *testing.T) {
	store := newMemStore()
	ts := startAcctServer(t, store)
	store.setFail(true)
	// Acknowledged although the store is down: the spool holds them.
	for i, status := range []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_InterimUpdate} {
		p := interim(t, 0)
		rfc2866.AcctStatusType_Set(p, status)
		rfc2866.AcctSessionTime_Set(p, rfc2866.AcctSessionTime(i))
		if exchange(t, ts.acct, encodeAcct(t, p), 2*time.Second) == nil {
			t.Fatalf("record %d not acknowledged with the store down", i)
		}
	}
	if n := ts.s.acct.spoolCount(); n != 2 {
		t.Fatalf("spool holds %d records, want 2", n)
	}
	if len(store.snapshot()) != 0 {
		t.Fatal("failing store has records")
	}
	// The store comes back: the next commit replays the spool first.
	store.setFail(false)
	p := interim(t, 0)
	rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Stop)
	if exchange(t, ts.acct, encodeAcct(t, p), 2*time.Second) == nil {
		t.Fatal("no ack once the store is back")
	}
	recs := store.snapshot()
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Status))
	}
	if strings.Join(got, ",") != "start,interim,stop" {
		t.Errorf("store got %v, want start,interim,stop in order", got)
	}
	if n := ts.s.acct.spoolCount(); n != 0 {
		t.Errorf("spool still holds %d records", n)
	}
}

func TestAccountingNotAcknowledgedWhenNothingIsDurable(t *testing.T) {
	store := newMemStore()
	ts := startAcctServer(t, store)
	store.setFail(true)
	ts.s.acct.spool.f.Close() // the disk fails too
	if exchange(t, ts.acct, encodeAcct(t, interim(t, 0)), 300*time.Millisecond) != nil {
		t.Fatal("acknowledged a record that is nowhere durable")
	}
	waitFor(t, func() bool { return ts.drops(dropAcctNotDurable) == 1 })
	ts.s.acct.spool.f, _ = os.Open(os.DevNull) // let Close succeed
}

func TestAccountingGroupCommit(t *testing.T) {
	store := newMemStore()
	gate := make(chan struct{})
	store.gate = gate
	store.entered = make(chan struct{})
	ts := startAcctServer(t, store)
	const n = 40
	var wg sync.WaitGroup
	replies := make(chan []byte, n)
	for i := 0; i < n; i++ {
		p := interim(t, 0)
		rfc2866.AcctSessionID_SetString(p, "s"+string(rune('A'+i)))
		raw := encodeAcct(t, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies <- exchange(t, ts.acct, raw, 10*time.Second)
		}()
		if i == 0 {
			// The first record's commit is now blocked in the store.
			<-store.entered
		}
	}
	// Everything else queues behind the blocked commit...
	waitFor(t, func() bool { return len(ts.s.acct.in) == n-1 })
	close(gate)
	wg.Wait()
	close(replies)
	for r := range replies {
		if r == nil {
			t.Fatal("a record was not acknowledged")
		}
	}
	// ...and goes to the store in one batch.
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.batches) != 2 || store.batches[0] != 1 || store.batches[1] != n-1 {
		t.Errorf("batches %v, want [1 %d]", store.batches, n-1)
	}
}

func TestSpoolCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	sp, err := openSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.append([]Record{{Key: "a", Status: AcctStart}, {Key: "b", Status: AcctStop}}); err != nil {
		t.Fatal(err)
	}
	sp.close()
	f, _ := os.OpenFile(filepath.Join(dir, spoolName), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"Key":"c","Sta`) // a crash in the middle of a write
	f.Close()
	sp, err = openSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	recs, err := sp.read()
	if err != nil || len(recs) != 2 || recs[1].Key != "b" || sp.count != 2 {
		t.Fatalf("after torn tail: %v %v count %d", recs, err, sp.count)
	}
	if err := sp.append([]Record{{Key: "d"}}); err != nil {
		t.Fatal(err)
	}
	if recs, _ := sp.read(); len(recs) != 3 || recs[2].Key != "d" {
		t.Fatalf("append after repair: %v", recs)
	}
}

func TestRadclientAccounting(t *testing.T) {
	store := newMemStore()
	ts := startAcctServer(t, store)
	circuit := "0x" + hexOf("F02GIL00001 eth 1/1/1")
	attrs := []string{
		`Service-Type = Framed-User`,
		`Framed-Protocol = PPP`,
		`NAS-Port = 15746408`,
		`NAS-Port-Type = Ethernet`,
		`User-Name = "p1f9bd1@NEUTRINET"`,
		`Calling-Station-Id = "08:55:31:FA:75:4E"`,
		`Called-Station-Id = "HYPERLINE-02GIL0-GPON"`,
		`NAS-Port-Id = "XE02-VL164-02GIL0-P0BIS"`,
		`Acct-Session-Id = "81004567"`,
		`ADSL-Agent-Circuit-Id = ` + circuit,
		`Framed-IP-Address = 100.126.255.5`,
		`Acct-Authentic = RADIUS`,
		`Event-Timestamp = "Apr  8 2025 10:12:09 UTC"`,
		`Framed-IPv6-Prefix = 2001:913:1000:500::/60`,
		`Acct-Session-Time = 36721`,
		`Acct-Input-Octets = 184624542`,
		`Acct-Input-Gigawords = 1`,
		`Acct-Input-Packets = 771960`,
		`Acct-Output-Octets = 766528680`,
		`Acct-Output-Gigawords = 0`,
		`Acct-Output-Packets = 1048178`,
		`Acct-Status-Type = Interim-Update`,
		`NAS-Identifier = "agg01.pxmar.bra.be.verixi.net"`,
		`Acct-Delay-Time = 0`,
		`NAS-IP-Address = 100.64.57.40`,
		`Proxy-State = 0x3336`,
	}
	r := runRadclient(t, ts.acct.String(), "acct", testSecret, attrs)
	if r.code != "Accounting-Response" || r.get("Proxy-State") != "0x3336" {
		t.Fatalf("radclient acct: %q Proxy-State %q\n%s", r.code, r.get("Proxy-State"), r.out)
	}
	recs := store.snapshot()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	rec := recs[0]
	if rec.InputOctets != 1<<32+184624542 || rec.Circuit != "F02GIL00001 eth 1/1/1" ||
		rec.FramedIPv6Prefix.String() != "2001:913:1000:500::/60" ||
		!rec.EventTime.Equal(time.Date(2025, 4, 8, 10, 12, 9, 0, time.UTC)) || rec.Member != "m-1" {
		t.Errorf("record %+v", rec)
	}
	// Accounting-On from the same NAS.
	r = runRadclient(t, ts.acct.String(), "acct", testSecret, []string{
		`Acct-Status-Type = Accounting-On`, `NAS-Identifier = "agg01"`, `Message-Authenticator = 0x00`,
	})
	if r.code != "Accounting-Response" {
		t.Fatalf("Accounting-On: %q\n%s", r.code, r.out)
	}
	if recs := store.snapshot(); len(recs) != 2 || recs[1].Status != AcctOn {
		t.Errorf("after Accounting-On: %+v", recs)
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}
