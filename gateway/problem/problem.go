// Package problem writes RFC 9457 problem+json responses. The one table
// that maps the domain's error codes to HTTP status lives here, so that the
// REST API and the driver API answer alike.
package problem

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"wasteledger/manifest"
)

// Problem is an RFC 9457 problem document with wasteledger's extensions.
type Problem struct {
	Type     string `json:"type"`             // a stable URI: https://wasteledger.example/problems/<code>
	Title    string `json:"title"`            // short, English
	Status   int    `json:"status"`           // the HTTP status
	Detail   string `json:"detail,omitempty"` // what happened, for a person
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`               // the stable code, e.g. "conflict", "rate_limited"
	Field    string `json:"field,omitempty"`    // the offending field as a JSON path
	TitleZH  string `json:"title_zh,omitempty"` // the title in Chinese, for people
}

// TypeBase prefixes every problem type.
const TypeBase = "https://wasteledger.example/problems/"

// Codes the HTTP layer adds to the domain's.
const (
	BadRequest       = "bad_request"       // malformed JSON, wrong types, unknown fields
	TooLarge         = "payload_too_large" // body over the limit
	RateLimited      = "rate_limited"      // too many requests from this client
	MethodNotAllowed = "method_not_allowed"
	BadTicket        = "bad_ticket"             // a QR ticket forged, tampered with or expired
	IdempotencyReuse = "idempotency_key_reused" // the same key with a different request
)

type entry struct {
	status  int
	title   string
	titleZH string
}

// table maps every code to its HTTP status and titles. A test walks
// manifest.Codes and fails on a code without an entry.
var table = map[string]entry{
	string(manifest.Invalid):         {http.StatusBadRequest, "Invalid input", "输入无效"},
	string(manifest.NotFound):        {http.StatusNotFound, "Not found", "未找到"},
	string(manifest.Conflict):        {http.StatusConflict, "Conflict with the current state", "与当前状态冲突"},
	string(manifest.Forbidden):       {http.StatusForbidden, "Forbidden", "无权操作"},
	string(manifest.Unauthenticated): {http.StatusUnauthorized, "Authentication required", "需要登录"},
	string(manifest.RuleViolation):   {http.StatusUnprocessableEntity, "A rule forbids this", "违反管理规定"},
	string(manifest.BadSignature):    {http.StatusUnprocessableEntity, "A signature does not verify", "签名无效"},
	string(manifest.Internal):        {http.StatusInternalServerError, "Internal error", "内部错误"},
	string(manifest.Unavailable):     {http.StatusServiceUnavailable, "The ledger is unavailable", "账本暂不可用"},
	BadRequest:                       {http.StatusBadRequest, "Bad request", "请求格式错误"},
	TooLarge:                         {http.StatusRequestEntityTooLarge, "Request body too large", "请求过大"},
	RateLimited:                      {http.StatusTooManyRequests, "Too many requests", "请求过于频繁"},
	MethodNotAllowed:                 {http.StatusMethodNotAllowed, "Method not allowed", "不支持的方法"},
	BadTicket:                        {http.StatusUnprocessableEntity, "The QR ticket is not valid", "二维码无效"},
	IdempotencyReuse:                 {http.StatusUnprocessableEntity, "Idempotency key reused with a different request", "幂等键已用于其他请求"},
}

// Status returns the HTTP status of a code (500 for an unknown one).
func Status(code string) int {
	if e, ok := table[code]; ok {
		return e.status
	}
	return http.StatusInternalServerError
}

// Known reports whether code has an entry.
func Known(code string) bool { _, ok := table[code]; return ok }

// New builds the problem for code with a detail.
func New(code, detail, field string) Problem {
	e, ok := table[code]
	if !ok {
		code, e = string(manifest.Internal), table[string(manifest.Internal)]
	}
	return Problem{Type: TypeBase + code, Title: e.title, TitleZH: e.titleZH, Status: e.status, Detail: detail, Code: code, Field: field}
}

// From builds the problem for an error: a *manifest.Error keeps its code,
// field and message; anything else is an internal error whose detail is
// not shown.
func From(err error) Problem {
	var e *manifest.Error
	if errors.As(err, &e) {
		p := New(string(e.Code), e.Error(), e.Field)
		if e.Code == manifest.Internal {
			p.Detail = "internal error"
		}
		return p
	}
	var coded interface{ ProblemCode() string }
	if errors.As(err, &coded) {
		return New(coded.ProblemCode(), err.Error(), "")
	}
	return New(string(manifest.Internal), "internal error", "")
}

// Write sends p as application/problem+json and logs server errors.
func Write(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// Error writes the problem for err, logging it when it is the server's
// fault.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := From(err)
	if p.Status >= 500 && log != nil {
		log.ErrorContext(r.Context(), "request failed", "http.route", r.URL.Path, "http.status", p.Status, "err", err)
	}
	Write(w, r, p)
}
