package radius_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"maillon/internal/radius"
)

// nopStore stands for the application's store, which implements
// AccountingStore on the database.
type nopStore struct{}

func (nopStore) WriteBatch(context.Context, []radius.Record) error { return nil }

// The application wires the server like this: build a Snapshot from the
// registry at start and on every change event, and run Serve under its
// errgroup.
func Example() {
	spool, _ := os.MkdirTemp("", "spool") // the app uses its data directory
	defer os.RemoveAll(spool)
	srv, err := radius.New(radius.Config{
		Accounting: nopStore{},
		SpoolDir:   spool,
		Registerer: prometheus.NewRegistry(),
		Logger:     slog.Default(),
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	rate, _ := radius.ParseAttr("Mikrotik-Rate-Limit", "100M/100M")
	snap, err := radius.NewSnapshot(radius.SnapshotInput{
		Subscribers: []radius.Subscriber{{
			Login: "demo1@DEMO", Password: "demo1-password", Member: "42", Subscription: "7",
			Kind: radius.KindPPP, State: radius.StateActive, MembershipCurrent: true,
			IPv4:  netip.MustParseAddr("192.0.2.10"),
			IPv6:  netip.MustParsePrefix("2001:db8:10::/64"),
			Reply: []radius.Attr{rate},
		}},
		Clients: []radius.Client{{
			Name: "demo", Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: "demo-secret",
			Kind: radius.ClientBRAS, MessageAuthenticator: radius.MAAuto, Realm: radius.RealmKeep,
		}},
	})
	if err != nil {
		// Entries that could not be used are named here; the snapshot
		// still serves every other one.
		fmt.Println("snapshot:", err)
	}
	srv.SetSnapshot(snap)

	auth, _ := net.ListenPacket("udp", "127.0.0.1:0")
	acct, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer auth.Close()
	defer acct.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	fmt.Println(srv.Serve(ctx, auth, acct))
	// Output: <nil>
}

// 802.1X: the application passes the EAP files from its configuration
// (PEM, readable by the daemon) and reloads them on SIGHUP, so a renewed
// server certificate is used without a restart. Switches are Clients of
// Kind ClientSwitch; their ports and the MACs come in the snapshot.
func Example_eap() {
	srv, err := radius.New(radius.Config{
		EAP: &radius.EAPConfig{
			CertFile:     "/etc/maillon/radius.pem", // server certificate, then intermediates
			KeyFile:      "/etc/maillon/radius.key",
			ClientCAFile: "/etc/maillon/eap-client-ca.pem", // empty: PEAP only
		},
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		fmt.Println(err) // names the file that could not be used
		return
	}
	defer srv.Close()
	// On SIGHUP:
	if err := srv.ReloadEAP(); err != nil {
		slog.Error("keeping the previous EAP certificates", "err", err)
	}
}
