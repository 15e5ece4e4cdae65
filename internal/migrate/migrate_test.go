package migrate

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "github.com/mattn/go-sqlite3"
)

func TestApply(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	fsys := fstest.MapFS{
		"m/0001_init.sql": {Data: []byte("CREATE TABLE a (x INTEGER);")},
		"m/0002_more.sql": {Data: []byte("ALTER TABLE a ADD COLUMN y TEXT;")},
	}
	for i := 0; i < 2; i++ { // the second run finds nothing to do
		if err := Apply(ctx, db, fsys, "m"); err != nil {
			t.Fatalf("Apply run %d: %v", i, err)
		}
	}
	var v int
	db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != 2 {
		t.Fatalf("user_version = %d, want 2", v)
	}
	fsys["m/0003_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE a (x);")}
	if err := Apply(ctx, db, fsys, "m"); err == nil || !strings.Contains(err.Error(), "0003_bad.sql") {
		t.Fatalf("a failing migration = %v, want an error naming it", err)
	}
	db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != 2 {
		t.Fatalf("a failed migration moved user_version to %d", v)
	}
	delete(fsys, "m/0003_bad.sql")
	fsys["m/0004_gap.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;")}
	if _, err := List(fsys, "m"); err == nil {
		t.Fatal("a gap in the numbers was accepted")
	}
}
