package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
