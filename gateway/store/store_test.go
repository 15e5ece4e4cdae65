package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"wasteledger/manifest"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(context.Background(), Config{Path: filepath.Join(dir, "gateway.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestOpenMigratesAndKeepsSecret(t *testing.T) {
	s, dir := open(t)
	var v int
	if err := s.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 1 {
		t.Fatalf("user_version = %d, %v; want 1", v, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "gateway.db.secret"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("secret file = %v, %v; want 32 bytes, mode 0600", fi, err)
	}
	sealed := s.Seal([]byte(`{"d":"private"}`), CustodialAAD("kid", "org"))
	s.Close()

	// Reopened: same secret, so what was sealed opens; other AAD does not.
	s2, err := Open(context.Background(), Config{Path: filepath.Join(dir, "gateway.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if b, err := s2.Unseal(sealed, CustodialAAD("kid", "org")); err != nil || string(b) != `{"d":"private"}` {
		t.Fatalf("Unseal() = %q, %v", b, err)
	}
	if _, err := s2.Unseal(sealed, CustodialAAD("kid", "other-org")); err == nil {
		t.Fatal("Unseal() with another organisation's AAD succeeded")
	}
	if bytes.Contains(sealed, []byte("private")) {
		t.Fatal("sealed bytes contain the plaintext")
	}
}

func TestRefreshRotation(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if err := s.CreateRefresh(ctx, Refresh{Hash: []byte("r1"), Family: "f", Username: "u", Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r, err := s.UseRefresh(ctx, []byte("r1"), now, Refresh{Hash: []byte("r2"), Expires: now.Add(time.Hour)})
	if err != nil || r.Username != "u" {
		t.Fatalf("UseRefresh(r1) = %+v, %v", r, err)
	}
	// r1 again: a stolen copy. Refused, and r2 with it.
	if _, err := s.UseRefresh(ctx, []byte("r1"), now, Refresh{Hash: []byte("r3"), Expires: now.Add(time.Hour)}); manifest.CodeOf(err) != manifest.Unauthenticated {
		t.Fatalf("reuse of r1 = %v, want unauthenticated", err)
	}
	if _, err := s.UseRefresh(ctx, []byte("r2"), now, Refresh{Hash: []byte("r4"), Expires: now.Add(time.Hour)}); manifest.CodeOf(err) != manifest.Unauthenticated {
		t.Fatalf("r2 after the family was revoked = %v, want unauthenticated", err)
	}
	// Expired.
	s.CreateRefresh(ctx, Refresh{Hash: []byte("old"), Family: "g", Username: "u", Expires: now.Add(-time.Second)})
	if _, err := s.UseRefresh(ctx, []byte("old"), now, Refresh{Hash: []byte("x"), Expires: now}); manifest.CodeOf(err) != manifest.Unauthenticated {
		t.Fatalf("expired refresh = %v, want unauthenticated", err)
	}
}

func TestCodes(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	c := Code{Manifest: "20264401000001", Step: "pickup", Org: "o", MAC: []byte("m"), Expires: now.Add(10 * time.Minute), Created: now, CreatedBy: "clerk"}
	first, _ := s.CreateCode(ctx, c)
	second, _ := s.CreateCode(ctx, c)
	got, err := s.ActiveCode(ctx, c.Manifest, "pickup", now, 5)
	if err != nil || got.ID != second || got.ID == first {
		t.Fatalf("ActiveCode() = %+v, %v; want the newest code %d only", got, err, second)
	}
	for i := 1; i <= 5; i++ {
		if n, err := s.FailCode(ctx, second); err != nil || n != i {
			t.Fatalf("FailCode() = %d, %v; want %d", n, err, i)
		}
	}
	if _, err := s.ActiveCode(ctx, c.Manifest, "pickup", now, 5); manifest.CodeOf(err) != manifest.NotFound {
		t.Fatalf("ActiveCode() after 5 failures = %v, want not found (burnt)", err)
	}
	third, _ := s.CreateCode(ctx, c)
	if ok, _ := s.UseCode(ctx, third); !ok {
		t.Fatal("UseCode() = false for a fresh code")
	}
	if ok, _ := s.UseCode(ctx, third); ok {
		t.Fatal("UseCode() twice = true: a code must be single use")
	}
	fourth, _ := s.CreateCode(ctx, c)
	if _, err := s.ActiveCode(ctx, c.Manifest, "pickup", now.Add(11*time.Minute), 5); manifest.CodeOf(err) != manifest.NotFound {
		t.Fatalf("ActiveCode() after expiry of %d = %v, want not found", fourth, err)
	}
}

func TestUsersAndKeys(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	u := User{Username: "a", Org: "o", MSP: "M", Role: "admin", Hash: "h", Created: time.Now()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, u); manifest.CodeOf(err) != manifest.Conflict {
		t.Fatalf("CreateUser() twice = %v, want conflict", err)
	}
	if _, err := s.User(ctx, "b"); manifest.CodeOf(err) != manifest.NotFound {
		t.Fatalf("User(b) = %v, want not found", err)
	}
	k := APIKey{ID: "k1", Hash: []byte("h1"), Name: "erp", Org: "o", MSP: "M", Role: "producer_clerk", Created: time.Now()}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "other", "k1", time.Now()); manifest.CodeOf(err) != manifest.NotFound {
		t.Fatalf("revoke another org's key = %v, want not found", err)
	}
	if err := s.RevokeAPIKey(ctx, "o", "k1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, "o", "k1", time.Now()); manifest.CodeOf(err) != manifest.Conflict {
		t.Fatalf("revoke twice = %v, want conflict", err)
	}
	got, err := s.APIKeyByHash(ctx, []byte("h1"))
	if err != nil || got.Revoked == nil {
		t.Fatalf("APIKeyByHash() = %+v, %v; want revoked", got, err)
	}
}

// Custodial answers from memory until a custodial key is stored or
// revoked.
func TestCustodialFollowsPutAndRevoke(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "gateway.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 2; i++ {
		if _, err := s.Custodial(ctx, "org"); manifest.CodeOf(err) != manifest.NotFound {
			t.Fatalf("Custodial(org) before any key: %v, want not_found", err)
		}
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.PutCustodial(ctx, CustodialKey{KID: "k1", Org: "org", Sealed: []byte("sealed-1"), Created: t0}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		k, err := s.Custodial(ctx, "org")
		if err != nil || k.KID != "k1" || string(k.Sealed) != "sealed-1" {
			t.Fatalf("Custodial(org) = %+v, %v; want k1", k, err)
		}
		k.Sealed[0] = 'X' // a caller's change stays the caller's
	}
	if err := s.PutCustodial(ctx, CustodialKey{KID: "k2", Org: "org", Sealed: []byte("sealed-2"), Created: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if k, err := s.Custodial(ctx, "org"); err != nil || k.KID != "k2" {
		t.Fatalf("Custodial(org) after a newer key = %+v, %v; want k2", k, err)
	}
	if err := s.RevokeCustodial(ctx, "k2", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if k, err := s.Custodial(ctx, "org"); err != nil || k.KID != "k1" {
		t.Fatalf("Custodial(org) after revoking k2 = %+v, %v; want k1", k, err)
	}
	if err := s.RevokeCustodial(ctx, "k1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Custodial(ctx, "org"); manifest.CodeOf(err) != manifest.NotFound {
		t.Fatalf("Custodial(org) after revoking both: %v, want not_found", err)
	}
}

// Concurrent records are committed together, and each is there when
// PutIdempotent returns; the first record for a key wins.
func TestPutIdempotentConcurrently(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 100; i++ {
		for _, body := range []string{"first", "second"} {
			if body == "second" && i%2 == 0 {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := Response{Actor: "driver", Key: fmt.Sprintf("k%d", i), RequestHash: []byte{1}, Status: 200, ContentType: "application/json", Body: []byte(body), Created: time.Now()}
				if body == "second" {
					time.Sleep(20 * time.Millisecond) // after the first is recorded
				}
				if err := s.PutIdempotent(ctx, r); err != nil {
					errs <- err
					return
				}
				got, err := s.Idempotent(ctx, "driver", r.Key)
				if err != nil || string(got.Body) != "first" {
					errs <- fmt.Errorf("Idempotent(%s) after PutIdempotent = %q, %v; want the first record", r.Key, got.Body, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutIdempotent(ctx, Response{Actor: "driver", Key: "late"}); manifest.CodeOf(err) != manifest.Unavailable {
		t.Errorf("PutIdempotent after Close = %v, want unavailable", err)
	}
}
