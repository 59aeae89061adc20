// kms-plugin: a KMS v2 plugin FOR TESTS ONLY. It serves the KMS v2 gRPC API of
// k8s.io/kms/pkg/service on a unix socket and "encrypts" data encryption keys with one
// plain AES-256-GCM key kept in a file next to it. There is no key management, no
// rotation and no protection of the key: it exists so that kconformance can show a
// kube-apiserver storing Secrets through a KMS v2 provider (KEP-3299). Never use it
// to protect real data.
//
// The module it is built against decides the gRPC API (k8s.io/kms v0.28.x serves
// v2beta1, v0.29+ serves v2); apiVersion, set at link time by hack/build-kms-plugin.sh,
// is what Status reports, because kube-apiserver 1.28 accepts only "v2beta1".
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/kms/pkg/service"
)

// apiVersion is the KMS API version Status reports; set with -ldflags -X main.apiVersion=...
var apiVersion = "v2"

type plugin struct {
	aead  cipher.AEAD
	keyID string
}

func (p *plugin) Encrypt(_ context.Context, _ string, plaintext []byte) (*service.EncryptResponse, error) {
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return &service.EncryptResponse{
		Ciphertext: p.aead.Seal(nonce, nonce, plaintext, nil),
		KeyID:      p.keyID,
	}, nil
}

func (p *plugin) Decrypt(_ context.Context, _ string, req *service.DecryptRequest) ([]byte, error) {
	if req.KeyID != p.keyID {
		return nil, fmt.Errorf("unknown key id %q (this plugin has only %q)", req.KeyID, p.keyID)
	}
	n := p.aead.NonceSize()
	if len(req.Ciphertext) < n {
		return nil, errors.New("ciphertext shorter than a nonce")
	}
	return p.aead.Open(nil, req.Ciphertext[:n], req.Ciphertext[n:], nil)
}

func (p *plugin) Status(context.Context) (*service.StatusResponse, error) {
	return &service.StatusResponse{Version: apiVersion, Healthz: "ok", KeyID: p.keyID}, nil
}

// loadKey reads a 32-byte hex key from path, creating it (random) on first start so that
// a restarted plugin can still decrypt what it encrypted before.
func loadKey(path string) ([]byte, error) {
	if text, err := os.ReadFile(path); err == nil {
		return hex.DecodeString(string(text))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, []byte(hex.EncodeToString(key)), 0o600)
}

func main() {
	socket := flag.String("listen", "/var/run/kconformance-kms/kms.sock", "unix socket to serve on")
	keyFile := flag.String("key-file", "/var/lib/kconformance-kms/key.hex", "hex AES-256 key (created if missing)")
	flag.Parse()

	key, err := loadKey(*keyFile)
	if err != nil {
		log.Fatalf("key %s: %v", *keyFile, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		log.Fatalf("key %s: %v", *keyFile, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(key)
	p := &plugin{aead: aead, keyID: "kconformance-test-key-" + hex.EncodeToString(sum[:4])}

	if err := os.MkdirAll(filepath.Dir(*socket), 0o755); err != nil {
		log.Fatal(err)
	}
	_ = os.Remove(*socket) // a socket left by a previous instance would make Listen fail
	server := service.NewGRPCService(*socket, 10*time.Second, p)
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		server.Shutdown()
	}()
	log.Printf("TEST KMS plugin (not for real data): KMS API %s on %s, key id %s", apiVersion, *socket, p.keyID)
	if err := server.ListenAndServe(); err != nil {
		log.Fatal(err)
	}
}
