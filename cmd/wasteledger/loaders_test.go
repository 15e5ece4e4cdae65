package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadDismantlersAndCalendar(t *testing.T) {
	dir := t.TempDir()
	dis := filepath.Join(dir, "dismantlers.txt")
	os.WriteFile(dis, []byte("# 报废机动车回收拆解企业\n91440101MA5AAAAA0X\n\n  91440300MA5BBBBB1Y  \n"), 0o644)
	got, err := loadDismantlers(dis)
	if err != nil || len(got) != 2 || !got["91440101MA5AAAAA0X"] || !got["91440300MA5BBBBB1Y"] {
		t.Errorf("loadDismantlers = %v, %v; want the two codes", got, err)
	}
	if got, err := loadDismantlers(""); got != nil || err != nil {
		t.Errorf(`loadDismantlers("") = %v, %v; want nil (the name rule)`, got, err)
	}
	if _, err := loadDismantlers(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("a missing dismantlers file was accepted")
	}

	hol := filepath.Join(dir, "holidays.csv")
	os.WriteFile(hol, []byte("2026-11-30,holiday,company day off\n"), 0o644)
	cal, err := loadCalendar(hol)
	if err != nil {
		t.Fatal(err)
	}
	if cal.Working(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)) {
		t.Error("2026-11-30 is a working day despite the holidays file")
	}
	os.WriteFile(hol, []byte("not a date,holiday,x\n"), 0o644)
	if _, err := loadCalendar(hol); err == nil {
		t.Error("a malformed holidays file was accepted")
	}
}
