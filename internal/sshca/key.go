package sshca

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// KeySource says where a CA private key is: an OpenSSH private key file
// (encrypted with a passphrase, as `ssh-keygen -N` writes it), or a key
// held by ssh-agent, which may itself hold it on a hardware token (a PIV
// key added with `ssh-add -s`, a FIDO key) so that it never touches
// maillon's disk.
type KeySource struct {
	// File is the private key file.
	File string
	// Passphrase decrypts File; empty when the file is not encrypted.
	Passphrase []byte
	// AgentKey selects the agent's key: a public key (an authorized_keys
	// line), the path of a .pub file, or a SHA256 fingerprint.
	AgentKey string
	// AgentSocket is the agent's socket; empty means $SSH_AUTH_SOCK, read
	// when signing.
	AgentSocket string
}

// CAKey is a CA private key ready to sign.
type CAKey struct {
	src  KeySource
	file ssh.Signer // set for a file key

	mu  sync.Mutex
	pub ssh.PublicKey // known at Open for a file or a given public key
	fp  string        // the fingerprint an agent key is selected by
}

// Open loads a key source. A file is read and decrypted now, so that a
// wrong passphrase stops the daemon at start; an agent is reached only when
// signing, so that the daemon starts while the token is in its keyring.
func Open(src KeySource) (*CAKey, error) {
	k := &CAKey{src: src}
	switch {
	case src.File != "" && src.AgentKey != "":
		return nil, errors.New("a CA key is a file or an agent key, not both")
	case src.File != "":
		pem, err := os.ReadFile(src.File)
		if err != nil {
			return nil, err
		}
		var s ssh.Signer
		if len(src.Passphrase) > 0 {
			s, err = ssh.ParsePrivateKeyWithPassphrase(pem, src.Passphrase)
		} else {
			s, err = ssh.ParsePrivateKey(pem)
		}
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("%s is encrypted: give its passphrase (passphrase_file)", src.File)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.File, err)
		}
		k.file, k.pub = s, s.PublicKey()
	case src.AgentKey != "":
		sel := strings.TrimSpace(src.AgentKey)
		if strings.HasPrefix(sel, "SHA256:") {
			k.fp = sel
			break
		}
		text := []byte(sel)
		if !strings.HasPrefix(sel, "ssh-") && !strings.HasPrefix(sel, "ecdsa-") && !strings.HasPrefix(sel, "sk-") {
			b, err := os.ReadFile(sel)
			if err != nil {
				return nil, fmt.Errorf("agent key %q is neither a public key, a SHA256: fingerprint nor a readable .pub file: %w", sel, err)
			}
			text = b
		}
		pub, err := ParsePublicKey(text)
		if err != nil {
			return nil, fmt.Errorf("agent key: %w", err)
		}
		if _, ok := pub.(*ssh.Certificate); ok {
			return nil, errors.New("agent key: a certificate cannot sign certificates")
		}
		k.pub, k.fp = pub, ssh.FingerprintSHA256(pub)
	default:
		return nil, errors.New("no CA key: give a key file or an agent key")
	}
	return k, nil
}

// InAgent reports whether the key is held by ssh-agent.
func (k *CAKey) InAgent() bool { return k.file == nil }

// Describe says where the key is, for messages and logs.
func (k *CAKey) Describe() string {
	if k.file != nil {
		return "file " + k.src.File
	}
	return "ssh-agent key " + k.fp
}

// PublicKey returns the CA's public key. A key selected in the agent by its
// fingerprint alone is looked up there the first time.
func (k *CAKey) PublicKey(ctx context.Context) (ssh.PublicKey, error) {
	k.mu.Lock()
	pub := k.pub
	k.mu.Unlock()
	if pub != nil {
		return pub, nil
	}
	s, done, err := k.agentSigner(ctx)
	if err != nil {
		return nil, err
	}
	done()
	return s.PublicKey(), nil
}

// Fingerprint is the key's SHA256 fingerprint, known without the agent.
func (k *CAKey) Fingerprint() string {
	if k.file != nil {
		return ssh.FingerprintSHA256(k.pub)
	}
	return k.fp
}

// signer returns something that signs with the key and a function to call
// once done (which closes the agent connection).
func (k *CAKey) signer(ctx context.Context) (ssh.Signer, func(), error) {
	if k.file != nil {
		return k.file, func() {}, nil
	}
	return k.agentSigner(ctx)
}

// agentSigner connects to the agent, a new connection each time (agents
// restart, tokens come and go), and finds the key in it.
func (k *CAKey) agentSigner(ctx context.Context) (ssh.Signer, func(), error) {
	sock := k.src.AgentSocket
	if sock == "" {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock == "" {
		return nil, nil, errors.New("the CA key is in ssh-agent but SSH_AUTH_SOCK is not set and no agent socket is configured")
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach ssh-agent at %s: %w", sock, err)
	}
	// A token asking for a touch or a PIN may take a while, not forever.
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	ag := agent.NewClient(conn)
	keys, err := ag.List()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	for _, key := range keys {
		pub, err := ssh.ParsePublicKey(key.Blob)
		if err != nil {
			continue
		}
		if ssh.FingerprintSHA256(pub) != k.fp {
			continue
		}
		k.mu.Lock()
		k.pub = pub
		k.mu.Unlock()
		return agentKeySigner{ag: ag, pub: pub}, func() { conn.Close() }, nil
	}
	conn.Close()
	return nil, nil, fmt.Errorf("the CA key %s is not in ssh-agent at %s (is the token plugged in and added with ssh-add?)", k.fp, sock)
}

// agentKeySigner signs with one key of an agent, passing the RSA hash
// algorithm that certificates ask for (rsa-sha2-512) as the agent's flags.
type agentKeySigner struct {
	ag  agent.ExtendedAgent
	pub ssh.PublicKey
}

func (s agentKeySigner) PublicKey() ssh.PublicKey { return s.pub }

func (s agentKeySigner) Sign(_ io.Reader, data []byte) (*ssh.Signature, error) {
	return s.ag.Sign(s.pub, data)
}

func (s agentKeySigner) SignWithAlgorithm(_ io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	var flags agent.SignatureFlags
	switch algorithm {
	case ssh.KeyAlgoRSASHA256:
		flags = agent.SignatureFlagRsaSha256
	case ssh.KeyAlgoRSASHA512:
		flags = agent.SignatureFlagRsaSha512
	}
	return s.ag.SignWithFlags(s.pub, data, flags)
}

// ParsePublicKey reads one public key or certificate as written in a .pub
// file or an authorized_keys line, and says plainly what else it was given
// (a private key, an empty file) rather than "no key found".
func ParsePublicKey(text []byte) (ssh.PublicKey, error) {
	s := strings.TrimSpace(string(text))
	switch {
	case s == "":
		return nil, errors.New("no public key: the input is empty")
	case strings.Contains(s, "PRIVATE KEY"):
		return nil, errors.New("this is a private key: give the public key (the .pub file)")
	}
	pub, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("not an OpenSSH public key (ssh-ed25519 AAAA... as in a .pub file): %w", err)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("more than one public key: give one")
	}
	return pub, nil
}
