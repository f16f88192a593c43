package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// Importer stages an uploaded file and runs its import in the background.
type Importer interface {
	// Stage stores the file encrypted, records the import (or finds the one
	// of the same file, to resume it) and queues it; it returns at once.
	Stage(ctx context.Context, name string, o custos.ImportOptions, file io.Reader) (*custos.Import, error)
}

// WithImporter sets what runs uploaded imports. Without one, an upload
// answers 503.
func WithImporter(i Importer) Option { return func(s *server) { s.importer = i } }

// maxUploadBytes bounds an uploaded import file, and uploadTimeout the
// time it may take to arrive.
const (
	maxUploadBytes = 2 << 30
	uploadTimeout  = 30 * time.Minute
)

// importBody is an import with a page of its rejected rows.
type importBody struct {
	*custos.Import
	RejectedRows []*custos.ImportRejection `json:"rejected_rows"`
	NextCursor   *string                   `json:"next_cursor"`
}

// createImport takes a multipart upload: an "options" part (JSON) first,
// then a "file" part. The file is read as it arrives and staged encrypted,
// never spooled to disk in clear as ParseMultipartForm would.
func (s *server) createImport(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		s.writeError(w, r, custos.Errorf(custos.EUNSUPPORTED, "The body must be multipart/form-data: an options part (JSON), then a file part."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	// A large file takes longer to arrive than the server's read timeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTimeout))
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeError(w, r, custos.Errorf(custos.EUNSUPPORTED, "The body must be multipart/form-data: an options part (JSON), then a file part."))
		return
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "options" {
		s.writeError(w, r, custos.Invalid("options", "the first part must be the options, as JSON"))
		return
	}
	var o custos.ImportOptions
	dec := json.NewDecoder(io.LimitReader(part, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		s.writeError(w, r, decodeError(err))
		return
	}
	if err := o.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.importer == nil {
		s.writeError(w, r, custos.Errorf(custos.EUNAVAILABLE, "This server does not run imports."))
		return
	}
	file, err := mr.NextPart()
	if err != nil || file.FormName() != "file" {
		s.writeError(w, r, custos.Invalid("file", "the second part must be the file"))
		return
	}
	name := path.Base(strings.ReplaceAll(file.FileName(), "\\", "/"))
	if name == "." || name == "/" || custos.CheckText("file", name) != nil || len(name) > 255 {
		name = "upload"
	}
	imp, err := s.importer.Stage(r.Context(), name, o, file)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			err = custos.Errorf(custos.ETOOLARGE, "The file must be at most %d bytes.", maxUploadBytes)
		}
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusAccepted, imp)
}

// getImport answers an import's progress and result with a page of its
// rejected rows.
func (s *server) getImport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "import")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, limit, err := readPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	imp, err := s.svc.FindImport(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, next, err := s.svc.ImportRejections(r.Context(), id, after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, importBody{Import: imp, RejectedRows: orEmpty(rows), NextCursor: encodeCursor(next)})
}

// listImports answers the workspace's imports, newest first.
func (s *server) listImports(w http.ResponseWriter, r *http.Request) {
	before, limit, err := readPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	imps, next, err := s.svc.FindImports(r.Context(), before, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, pageBody[*custos.Import]{Data: orEmpty(imps), NextCursor: encodeCursor(next)})
}
