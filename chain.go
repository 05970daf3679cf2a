package ticketing

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// ErrChainBroken: Verify found a record that does not continue the audit
// chain: it was edited, removed, moved or slipped in. The *ChainError says
// where.
var ErrChainBroken = errors.New("ticketing: audit chain broken")

// chainVersion names the canonical encoding, so that a later one can be
// told apart.
const chainVersion = "ticketing.audit.v1"

// ChainRecord seals rec as the record that follows prev in the trail (the
// zero AuditRecord when rec is the first): Seq is prev.Seq+1, Time is cut
// to the microsecond and put in UTC (what every store keeps), PrevHash is
// prev.Hash, and Hash is the SHA-256 of the canonical encoding of every
// other field of rec together with PrevHash. A Store calls it inside its
// atomic append, so that concurrent writers keep one chain.
func ChainRecord(prev, rec AuditRecord) AuditRecord {
	rec.Seq = prev.Seq + 1
	rec.Time = rec.Time.Truncate(time.Microsecond).UTC()
	rec.PrevHash = prev.Hash
	rec.Hash = recordHash(rec)
	return rec
}

// recordHash computes the Hash of rec from all its fields but Hash. Each
// field is written as its length (uvarint) and its bytes, in a fixed
// order, so that no two records share an encoding.
func recordHash(r AuditRecord) string {
	h := sha256.New()
	var lenBuf [binary.MaxVarintLen64]byte
	field := func(h hash.Hash, s string) {
		h.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	for _, s := range [...]string{
		chainVersion,
		r.PrevHash,
		strconv.FormatInt(r.Seq, 10),
		strconv.FormatInt(r.Time.UnixMicro(), 10),
		string(r.Action),
		r.SecretID,
		r.SecretName,
		r.User,
		r.TicketSystemID,
		r.TicketSystemName,
		r.TicketNumber,
		r.Reason,
		r.URL,
		string(r.Outcome),
		r.DenialCode,
		r.DenialMessage,
		string(r.LiveCheck),
		strconv.FormatBool(r.FromCache),
		r.TicketStatus,
		string(r.Comment),
		r.CommentDetail,
		r.CorrelationID,
	} {
		field(h, s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AuditHead identifies the last record of a verified trail. Keep it
// somewhere the trail's writers cannot change: VerifySince then also
// proves that nothing was cut from the end since.
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// ChainError reports where Verify found the chain broken. It wraps
// ErrChainBroken.
type ChainError struct {
	// Seq is the first sequence number at which the trail is not what the
	// chain says it must be: an edited or moved record, the place of a
	// removed one, or a record slipped in.
	Seq    int64
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("%v at record %d: %s", ErrChainBroken, e.Seq, e.Reason)
}

// Unwrap returns ErrChainBroken.
func (e *ChainError) Unwrap() error { return ErrChainBroken }

// verifyPageSize is how many records Verify reads at a time; it keeps
// Verify's memory constant however long the trail is.
const verifyPageSize = 1000

// Verify walks the whole audit trail in order and checks the chain: the
// sequence numbers run 1, 2, 3 ... without gaps or repeats, every PrevHash
// is the Hash of the record before, and every Hash matches its record. It
// returns the head of the trail, or a *ChainError (wrapping ErrChainBroken)
// naming the first record where the chain breaks; other errors come from
// the store. A record cut from the end of the trail leaves a shorter but
// valid chain: compare with a head saved earlier using VerifySince.
func Verify(ctx context.Context, s AuditStore) (AuditHead, error) {
	return verify(ctx, s, AuditHead{})
}

// VerifySince is Verify, and also checks that the trail still holds the
// record saved (a head an earlier Verify returned) with the same Hash, so
// that records cut from the end since are detected too.
func VerifySince(ctx context.Context, s AuditStore, saved AuditHead) (AuditHead, error) {
	return verify(ctx, s, saved)
}

func verify(ctx context.Context, s AuditStore, saved AuditHead) (AuditHead, error) {
	var prev AuditRecord
	sawSaved := saved.Seq == 0
	for rec, err := range AuditRecords(ctx, s, AuditQuery{Limit: verifyPageSize}) {
		if err != nil {
			return AuditHead{Seq: prev.Seq, Hash: prev.Hash}, err
		}
		want := prev.Seq + 1
		switch {
		case rec.Seq > want:
			return AuditHead{}, &ChainError{Seq: want, Reason: "record missing"}
		case rec.Seq < want:
			return AuditHead{}, &ChainError{Seq: rec.Seq, Reason: "sequence number repeated or out of order"}
		case rec.PrevHash != prev.Hash:
			return AuditHead{}, &ChainError{Seq: rec.Seq, Reason: "does not follow the record before it"}
		case recordHash(rec) != rec.Hash:
			return AuditHead{}, &ChainError{Seq: rec.Seq, Reason: "record changed since it was written"}
		}
		if rec.Seq == saved.Seq {
			if rec.Hash != saved.Hash {
				return AuditHead{}, &ChainError{Seq: rec.Seq, Reason: "record differs from the saved head"}
			}
			sawSaved = true
		}
		prev = rec
	}
	if !sawSaved {
		return AuditHead{}, &ChainError{Seq: prev.Seq + 1, Reason: fmt.Sprintf("trail ends before the saved head (record %d)", saved.Seq)}
	}
	return AuditHead{Seq: prev.Seq, Hash: prev.Hash}, nil
}
