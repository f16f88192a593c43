package custos

import (
	"context"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

// ImportStatus is where an import stands.
type ImportStatus string

// The import statuses. A running import that stopped (a crash, kill -9)
// stays running until the same file is imported again, which resumes it.
const (
	ImportRunning ImportStatus = "running"
	ImportDone    ImportStatus = "done"
	ImportFailed  ImportStatus = "failed"
)

// ProfilePolicy says what an import does to the fields of a contact that
// exists already.
type ProfilePolicy string

// The profile policies.
const (
	ProfileOverwrite    ProfilePolicy = "overwrite"     // the file's values replace the stored ones
	ProfileFillEmpty    ProfilePolicy = "fill_empty"    // only fields without a value are set
	ProfileSkipExisting ProfilePolicy = "skip_existing" // existing contacts keep their fields
)

// ImportOptions are what an import declares: the purpose and the legal
// basis its contacts are processed under, the list they join, how columns
// map to fields, what happens to existing contacts, and whether the data
// was collected from the people themselves (if not, Art. 14 applies).
type ImportOptions struct {
	ListID         int64             `json:"list_id,omitempty"`
	PurposeID      int64             `json:"purpose_id"`
	Basis          LegalBasis        `json:"legal_basis"`
	Notice         string            `json:"notice,omitempty"` // for a consent purpose: the wording every row's person agreed to
	Map            map[string]string `json:"map,omitempty"`    // column → field key, or "-" to leave a column out
	Profile        ProfilePolicy     `json:"profile"`
	NotFromSubject bool              `json:"not_from_subject"`
}

// Validate checks the options and fills in the default policy.
func (o *ImportOptions) Validate() error {
	if o.PurposeID <= 0 {
		return Invalid("purpose_id", "is required: the purpose the imported contacts are processed for")
	}
	if !o.Basis.Valid() {
		return Invalid("legal_basis", "must be one of consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests")
	}
	if o.ListID < 0 {
		return Invalid("list_id", "is not a list id")
	}
	if o.Profile == "" {
		o.Profile = ProfileFillEmpty
	}
	switch o.Profile {
	case ProfileOverwrite, ProfileFillEmpty, ProfileSkipExisting:
	default:
		return Invalid("profile", "must be one of overwrite, fill_empty, skip_existing")
	}
	if err := CheckText("notice", o.Notice); err != nil {
		return err
	} else if len(o.Notice) > MaxNoticeBody || !utf8.ValidString(o.Notice) {
		return Invalid("notice", "must be valid UTF-8 of at most %d bytes", MaxNoticeBody)
	}
	if len(o.Map) > 1000 {
		return Invalid("map", "at most 1000 columns")
	}
	for col, key := range o.Map {
		if err := CheckText("map", col); err != nil {
			return err
		} else if err := CheckText("map", key); err != nil {
			return err
		}
		if col == "" || key == "" || len(col) > 200 || len(key) > 200 {
			return Invalid("map", "each entry is COLUMN=FIELD, both 1-200 characters")
		}
	}
	return nil
}

// Import is one run of a file into the workspace. It holds no personal
// data: the file is known by its SHA-256, its rows by their line numbers.
type Import struct {
	ID         int64         `json:"id"`
	Name       string        `json:"name"`
	SHA256     string        `json:"sha256"`
	Options    ImportOptions `json:"options"`
	Status     ImportStatus  `json:"status"`
	Error      string        `json:"error,omitempty"`
	Unknown    []string      `json:"unknown_columns"` // columns of the file that went nowhere
	LastLine   int64         `json:"last_line"`       // the checkpoint: every row up to it is committed
	Done       int64         `json:"rows_done"`
	Created    int64         `json:"rows_created"`
	Updated    int64         `json:"rows_updated"`
	Rejected   int64         `json:"rows_rejected"`
	Skipped    int64         `json:"rows_skipped"` // contacts whose processing is restricted
	StartedBy  string        `json:"started_by"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at"`
}

// Actor returns who an import's changes are recorded as: "import:<id>".
func (imp *Import) Actor() string { return "import:" + strconv.FormatInt(imp.ID, 10) }

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Validate checks a new import.
func (imp *Import) Validate() error {
	if !sha256RE.MatchString(imp.SHA256) {
		return Invalid("sha256", "must be 64 lower-case hex digits")
	}
	if err := CheckText("name", imp.Name); err != nil {
		return err
	} else if imp.Name == "" || utf8.RuneCountInString(imp.Name) > 255 {
		return Invalid("name", "must be 1-255 characters")
	}
	return imp.Options.Validate()
}

// ImportRejection is a row an import left out: its line, the column at
// fault and why, never the value.
type ImportRejection struct {
	ID     int64  `json:"id"`
	Line   int64  `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// ImportRow is a parsed row ready to store: the contact it names and, when
// the row carries them, the proof of the person's consent: its time and the
// wording agreed to.
type ImportRow struct {
	Line        int64
	Contact     *Contact
	ConsentAt   *time.Time
	ConsentText string
}

// ImportService runs imports in the actor's workspace.
type ImportService interface {
	// StartImport records a new import, or returns the one of the same
	// file (same SHA-256) in the workspace so that it resumes after its
	// checkpoint. EINVALID for bad options or an unknown purpose or list,
	// or a basis other than the purpose's; ECONFLICT when the same file was
	// imported with other options.
	StartImport(ctx context.Context, imp *Import) (*Import, error)
	// ImportChunk stores rows (create or update by e-mail), the rejected
	// rows and the new checkpoint in one transaction, and returns the
	// import's counters after it. A chunk at or before the checkpoint
	// writes nothing. ECONFLICT when the import is not running.
	ImportChunk(ctx context.Context, id int64, rows []ImportRow, rejected []ImportRejection, lastLine int64, unknown []string) (*Import, error)
	// FinishImport marks the import done, or failed with a message safe
	// to show.
	FinishImport(ctx context.Context, id int64, failure string) (*Import, error)
	// FindImport returns the import, or ENOTFOUND.
	FindImport(ctx context.Context, id int64) (*Import, error)
	// FindImports returns the workspace's imports, newest first, a page at
	// a time (before: the id of the last one seen).
	FindImports(ctx context.Context, before int64, limit int) ([]*Import, int64, error)
	// ImportRejections returns the rejected rows in line order, a page at
	// a time (after: the id of the last one seen). ENOTFOUND for an
	// import not in the workspace.
	ImportRejections(ctx context.Context, id, after int64, limit int) ([]*ImportRejection, int64, error)
}
