package custos

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// PreferenceTokenTTL is how long a preference-centre link works. Every
// mail carries a fresh one, and a person can ask for a new link at any
// time (POST /p/request).
const PreferenceTokenTTL = 30 * 24 * time.Hour

// ActorSubject is the actor kind of the person themself, acting on their
// own data through a link mailed to them (the preference centre). It has
// no role, so it is granted no permission of the API; it is recorded as
// "subject" in the ledger, the audit log and a request's history.
const ActorSubject = "subject"

// SubjectActor returns the actor of the person of a preference-centre
// link, in their workspace.
func SubjectActor(workspaceID int64) Actor {
	return Actor{WorkspaceID: workspaceID, Kind: ActorSubject}
}

// PreferenceService makes and opens the links of the preference centre,
// where a person manages their own consents and lists without a login.
type PreferenceService interface {
	// PreferenceToken returns a link token for the contact of the actor's
	// workspace, valid for PreferenceTokenTTL. It is signed, never stored:
	// it names the workspace, the contact and the expiry, under a MAC keyed
	// by the master key. ENOTFOUND for a contact not in the workspace,
	// ECONFLICT for one that is forgotten or anonymized. A contact still
	// waiting for its double opt-in gets one.
	PreferenceToken(ctx context.Context, contactID int64) (string, error)
	// OpenPreferenceToken returns the workspace and contact of a token. It
	// needs no actor. Every token that does not work, whether forged,
	// altered, expired, or for a contact since forgotten or anonymized, is
	// the same ENOTFOUND, so that nothing can be learnt from trying.
	OpenPreferenceToken(ctx context.Context, token string) (workspaceID, contactID int64, err error)
	// RequestErasureBySubject registers the erasure request of the
	// contact, made by the person from the preference centre, and marks it
	// verified: the link was mailed to the contact's address, so using it
	// shows control of that address. An open erasure request of the contact
	// is verified and returned instead of making another. Staff still
	// execute it (POST /api/v1/dsr-requests/{id}/execute). ECONFLICT for a
	// forgotten contact.
	RequestErasureBySubject(ctx context.Context, contactID int64) (*DSRRequest, error)
}

// PreferenceLink returns the address of the contact's preference centre,
// for a mail to them: baseURL/p/<token>, with ?lang=<lang> when a language
// is given. It is the one way links to the preference centre are made;
// every mail to a contact carries one. Errors as PreferenceToken.
func PreferenceLink(ctx context.Context, svc PreferenceService, baseURL string, contactID int64, lang string) (string, error) {
	token, err := svc.PreferenceToken(ctx, contactID)
	if err != nil {
		return "", err
	}
	link := strings.TrimRight(baseURL, "/") + "/p/" + token
	if lang != "" {
		link += "?lang=" + url.QueryEscape(lang)
	}
	return link, nil
}
