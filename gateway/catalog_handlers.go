package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"wasteledger/gateway/httpx"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// WasteView is a catalogue entry as the API shows it.
type WasteView struct {
	Code           string   `json:"code"`
	Category       string   `json:"category,omitempty"`
	CategoryName   string   `json:"category_name,omitempty"`
	CategoryNameEN string   `json:"category_name_en,omitempty"`
	Name           string   `json:"name"`
	NameEN         string   `json:"name_en,omitempty"`
	Industry       string   `json:"industry,omitempty"`
	Hazard         string   `json:"hazard,omitempty"`
	Stream         string   `json:"stream"`
	Listed         bool     `json:"listed"`
	Methods        []string `json:"methods,omitempty"` // on a single entry: the method codes it may be recorded with
}

func viewWaste(w catalog.Waste) WasteView {
	return WasteView{Code: w.Code, Category: w.Category, CategoryName: w.CategoryName, CategoryNameEN: w.CategoryNameEN,
		Name: w.Name, NameEN: w.NameEN, Industry: w.Industry, Hazard: w.Hazard, Stream: string(w.Stream), Listed: w.Listed}
}

// handleWastes searches the catalogue: q matches a code prefix, a category
// (HW08) or a Chinese or English name; category and stream filter.
func (s *Server) handleWastes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "q", "category", "stream", "limit":
		default:
			s.fail(w, r, invalid(k, "unknown query parameter %q", k))
			return
		}
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			s.fail(w, r, invalid("limit", "limit must be 1–500"))
			return
		}
		limit = n
	}
	cat, stream := strings.ToUpper(q.Get("category")), q.Get("stream")
	if cat != "" {
		if _, ok := catalog.LookupCategory(cat); !ok {
			s.fail(w, r, invalid("category", "unknown category %q (HW01 … HW50)", cat))
			return
		}
	}
	var src []catalog.Waste
	if text := strings.TrimSpace(q.Get("q")); text != "" {
		src = catalog.Search(text, 0)
	} else {
		src = catalog.All()
	}
	out := []WasteView{}
	for _, e := range src {
		if (cat != "" && e.Category != cat) || (stream != "" && string(e.Stream) != stream) {
			continue
		}
		out = append(out, viewWaste(e))
		if len(out) == limit {
			break
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.JSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) handleWaste(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	e, ok := catalog.Lookup(code)
	if !ok {
		s.fail(w, r, manifest.Errorf(manifest.NotFound, "waste code %s is not in the catalogue", code))
		return
	}
	v := viewWaste(e)
	for _, m := range catalog.Methods() {
		if catalog.MethodAllowed(code, m.Code) == nil {
			v.Methods = append(v.Methods, m.Code)
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.JSON(w, http.StatusOK, v)
}

func (s *Server) handleCategories(w http.ResponseWriter, r *http.Request) {
	type view struct {
		Code    string `json:"code"`
		Name    string `json:"name"`
		NameEN  string `json:"name_en"`
		Entries int    `json:"entries"`
	}
	out := []view{}
	for _, c := range catalog.Categories() {
		out = append(out, view{c.Code, c.Name, c.NameEN, c.Entries})
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.JSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) handleMethods(w http.ResponseWriter, r *http.Request) {
	type view struct {
		Code      string `json:"code"`
		Name      string `json:"name"`
		NameEN    string `json:"name_en"`
		Class     string `json:"class"`
		Indicator string `json:"indicator"`
	}
	out := []view{}
	for _, m := range catalog.Methods() {
		out = append(out, view{m.Code, m.Name, m.NameEN, string(m.Class), string(m.Indicator)})
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.JSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) handleRegions(w http.ResponseWriter, r *http.Request) {
	type view struct {
		Code   string `json:"code"`
		Name   string `json:"name"`
		NameEN string `json:"name_en"`
		Level  string `json:"level"`
	}
	parent := r.URL.Query().Get("within")
	out := []view{}
	for _, g := range catalog.Regions() {
		if parent != "" && !catalog.Contains(parent, g.Code) {
			continue
		}
		out = append(out, view{g.Code, g.Name, g.NameEN, string(g.Level)})
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.JSON(w, http.StatusOK, map[string]any{"items": out})
}
