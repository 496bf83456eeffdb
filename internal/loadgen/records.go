package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// GenOptions say what synthetic records look like.
type GenOptions struct {
	// RecordBytes is the size each record is padded to (through a
	// requestParameters.benchPadding string). A record whose natural size is
	// already larger stays as it is.
	RecordBytes int
	// Accounts are the recipientAccountId values records are spread over;
	// empty leaves the field out, and the server files each record under the
	// caller's account (identities and ARNs then name DefaultAccount).
	Accounts []string
	// Regions are the awsRegion values records are spread over; empty means
	// us-east-1.
	Regions []string
	// Spread, when positive, spreads eventTime uniformly over the Spread
	// before the moment a batch is sent; otherwise eventTime is the send time
	// minus up to a minute.
	Spread time.Duration
	// Seed seeds the generator; 0 picks a random seed.
	Seed uint64
}

// Placeholders written into templates and patched in before each send;
// they have the lengths of the real values.
const (
	idPlaceholder   = "00000000-0000-4000-8000-000000000000"
	timePlaceholder = "2000-01-01T00:00:00Z"
	// smallAge bounds how far before the send time an event is, without Spread.
	smallAge = 60
)

// ctRecord is a CloudTrail record, its fields in CloudTrail's order.
type ctRecord struct {
	EventVersion       string             `json:"eventVersion"`
	UserIdentity       event.UserIdentity `json:"userIdentity"`
	EventTime          string             `json:"eventTime"`
	EventSource        string             `json:"eventSource"`
	EventName          string             `json:"eventName"`
	AWSRegion          string             `json:"awsRegion"`
	SourceIPAddress    string             `json:"sourceIPAddress"`
	UserAgent          string             `json:"userAgent"`
	ErrorCode          string             `json:"errorCode,omitempty"`
	ErrorMessage       string             `json:"errorMessage,omitempty"`
	RequestParameters  map[string]any     `json:"requestParameters"`
	ResponseElements   any                `json:"responseElements"`
	RequestID          string             `json:"requestID"`
	EventID            string             `json:"eventID"`
	ReadOnly           bool               `json:"readOnly"`
	Resources          []ctResource       `json:"resources,omitempty"`
	EventType          string             `json:"eventType"`
	ManagementEvent    bool               `json:"managementEvent"`
	RecipientAccountID string             `json:"recipientAccountId,omitempty"`
	EventCategory      string             `json:"eventCategory"`
}

type ctResource struct {
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

type pick struct {
	svc *Service
	ev  *EventName
}

// Generator makes synthetic CloudTrail records. It is not safe for
// concurrent use.
type Generator struct {
	opts    GenOptions
	u       *Universe
	r       *rand.Rand
	picks   []pick
	cum     []int // cumulative weights of picks
	ips     []string
	padText []byte
}

var serviceWeight = map[string]int{
	"ec2.amazonaws.com": 3, "s3.amazonaws.com": 3, "iam.amazonaws.com": 1, "lambda.amazonaws.com": 2,
	"dynamodb.amazonaws.com": 2, "kms.amazonaws.com": 4, "sts.amazonaws.com": 3, "rds.amazonaws.com": 1,
	"sns.amazonaws.com": 1, "sqs.amazonaws.com": 2, "logs.amazonaws.com": 1,
}

var userAgents = []string{
	"aws-cli/2.17.40 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0-1014-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard",
	"Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#5.10.225 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.10",
	"aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64",
	"APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0",
	"console.amazonaws.com",
	"aws-sdk-java/2.26.25 Linux/5.10.224 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc.",
}

// NewGenerator makes a generator of records of the universe.
func NewGenerator(o GenOptions) *Generator {
	if len(o.Regions) == 0 {
		o.Regions = []string{"us-east-1"}
	}
	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g := &Generator{opts: o, u: universe, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	total := 0
	for _, s := range g.u.Services {
		for i := range s.Events {
			w := serviceWeight[s.Source]
			if s.Events[i].ReadOnly {
				w *= 3 // reads are more common than writes
			}
			total += w
			g.picks = append(g.picks, pick{s, &s.Events[i]})
			g.cum = append(g.cum, total)
		}
	}
	for i := range 48 {
		if i%2 == 0 {
			g.ips = append(g.ips, fmt.Sprintf("203.0.113.%d", 10+i))
		} else {
			g.ips = append(g.ips, fmt.Sprintf("198.51.100.%d", 20+i))
		}
	}
	g.padText = make([]byte, 64<<10)
	const padAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "
	for i := range g.padText {
		g.padText[i] = padAlphabet[g.r.IntN(len(padAlphabet))]
	}
	return g
}

// record builds one record with the ID and time placeholders, and returns
// the offsets of the eventID and eventTime values in it.
func (g *Generator) record() (b []byte, idOff, timeOff int) {
	r := g.r
	p := g.picks[0]
	x := r.IntN(g.cum[len(g.cum)-1])
	for i, c := range g.cum {
		if x < c {
			p = g.picks[i]
			break
		}
	}
	var user *User
	if r.IntN(2) == 0 { // automation makes half the calls
		user = &g.u.Users[len(g.u.Users)-6+r.IntN(6)]
	} else {
		user = &g.u.Users[r.IntN(len(g.u.Users))]
	}
	account := DefaultAccount
	recipient := ""
	if len(g.opts.Accounts) > 0 {
		account = g.opts.Accounts[r.IntN(len(g.opts.Accounts))]
		recipient = account
	}
	region := g.opts.Regions[r.IntN(len(g.opts.Regions))]

	rec := ctRecord{
		EventVersion: "1.09",
		UserIdentity: event.UserIdentity{Type: event.IdentityIAMUser, PrincipalID: user.PrincipalID,
			ARN: "arn:aws:iam::" + account + ":user/" + user.Name, AccountID: account,
			AccessKeyID: user.AccessKeys[r.IntN(len(user.AccessKeys))], UserName: user.Name},
		EventTime:          timePlaceholder,
		EventSource:        p.svc.Source,
		EventName:          p.ev.Name,
		AWSRegion:          region,
		SourceIPAddress:    g.ips[r.IntN(len(g.ips))],
		UserAgent:          userAgents[r.IntN(len(userAgents))],
		RequestID:          randUUID(r),
		EventID:            idPlaceholder,
		ReadOnly:           p.ev.ReadOnly,
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: recipient,
		EventCategory:      "Management",
	}
	var names, arns []string
	for _, ki := range p.ev.Resources {
		k := p.svc.Kinds[ki]
		n := k.Names[r.IntN(len(k.Names))]
		arn := k.ARN(account, region, n)
		names, arns = append(names, n), append(arns, arn)
		rec.Resources = append(rec.Resources, ctResource{AccountID: account, Type: k.Type, ARN: arn})
	}
	rec.RequestParameters = p.ev.Params(r, names, arns)
	if r.IntN(50) == 0 {
		rec.ErrorCode = "AccessDenied"
		rec.ErrorMessage = "User: " + rec.UserIdentity.ARN + " is not authorized to perform: " +
			p.svc.Source[:len(p.svc.Source)-len(".amazonaws.com")] + ":" + p.ev.Name
	}
	b = mustMarshal(&rec)
	if want := g.opts.RecordBytes; len(b) < want {
		if rec.RequestParameters == nil {
			rec.RequestParameters = map[string]any{}
		}
		rec.RequestParameters["benchPadding"] = ""
		b = mustMarshal(&rec)
		if pad := want - len(b); pad >= 0 {
			off := r.IntN(len(g.padText) - min(pad, len(g.padText)) + 1)
			text := make([]byte, 0, pad)
			for len(text) < pad { // pad may exceed padText for very large records
				n := min(pad-len(text), len(g.padText)-off)
				text = append(text, g.padText[off:off+n]...)
				off = 0
			}
			rec.RequestParameters["benchPadding"] = string(text)
			b = mustMarshal(&rec)
		} else {
			delete(rec.RequestParameters, "benchPadding")
			b = mustMarshal(&rec)
		}
	}
	idOff = bytes.Index(b, []byte(`"eventID":"`+idPlaceholder)) + len(`"eventID":"`)
	timeOff = bytes.Index(b, []byte(`"eventTime":"`+timePlaceholder)) + len(`"eventTime":"`)
	return b, idOff, timeOff
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Template is a pre-built batch body, {"Records":[…]}, whose records'
// eventIDs and eventTimes are patched in before each send.
type Template struct {
	body    []byte
	idOff   []int   // offset of record i's eventID value
	timeOff []int   // offset of record i's eventTime value
	end     []int   // offset just after record i
	age     []int64 // seconds before the send time (before the batch's shift)
	spread  int64   // seconds; 0 for no spread
}

// Template builds a batch template of n records.
func (g *Generator) Template(n int) *Template {
	t := &Template{spread: int64(g.opts.Spread / time.Second)}
	t.body = append(t.body, `{"Records":[`...)
	for i := range n {
		if i > 0 {
			t.body = append(t.body, ',')
		}
		rec, idOff, timeOff := g.record()
		base := len(t.body)
		t.body = append(t.body, rec...)
		t.idOff = append(t.idOff, base+idOff)
		t.timeOff = append(t.timeOff, base+timeOff)
		t.end = append(t.end, len(t.body))
		if t.spread > 0 {
			t.age = append(t.age, g.r.Int64N(t.spread))
		} else {
			t.age = append(t.age, g.r.Int64N(smallAge))
		}
	}
	t.body = append(t.body, "]}"...)
	return t
}

// Len is the number of records of the template.
func (t *Template) Len() int { return len(t.idOff) }

// Size is the size of the body of the template's first n records.
func (t *Template) Size(n int) int { return t.end[n-1] + 2 }

// Fill writes into buf (reusing its storage) the body of the template's
// first n records, each with the next eventID of ids and an eventTime before
// now. With a spread, shift (any number) rotates the records' ages so that
// repeated sends of one template cover the spread evenly.
func (t *Template) Fill(buf []byte, n int, ids *IDs, now time.Time, shift int64) []byte {
	buf = append(buf[:0], t.body[:t.end[n-1]]...)
	buf = append(buf, "]}"...)
	sec := now.Unix()
	var ts [len(timePlaceholder)]byte
	lastAge := int64(-1)
	for i := range n {
		ids.next(buf[t.idOff[i] : t.idOff[i]+len(idPlaceholder)])
		age := t.age[i]
		if t.spread > 0 {
			age = (age + shift%t.spread + t.spread) % t.spread
		}
		if age != lastAge {
			time.Unix(sec-age, 0).UTC().AppendFormat(ts[:0], "2006-01-02T15:04:05Z")
			lastAge = age
		}
		copy(buf[t.timeOff[i]:], ts[:])
	}
	return buf
}

// IDs hands out unique UUID-shaped eventIDs: 48 random bits naming the run,
// 12 bits naming the client, and a 60-bit sequence number.
type IDs struct {
	run    uint64
	client uint64
	seq    uint64
}

// NewIDs makes the ID source of one client of a run.
func NewIDs(run uint64, client int) *IDs {
	return &IDs{run: run & (1<<48 - 1), client: uint64(client) & 0xfff}
}

// next writes the next ID into dst (36 bytes).
func (s *IDs) next(dst []byte) {
	s.seq++
	var h [32]byte
	put := func(at, digits int, v uint64) {
		for i := digits - 1; i >= 0; i-- {
			h[at+i] = lowerHex[v&0xf]
			v >>= 4
		}
	}
	put(0, 12, s.run)
	h[12] = '4'
	put(13, 3, s.client)
	h[16] = '8'
	put(17, 15, s.seq)
	copy(dst[0:8], h[0:8])
	dst[8] = '-'
	copy(dst[9:13], h[8:12])
	dst[13] = '-'
	copy(dst[14:18], h[12:16])
	dst[18] = '-'
	copy(dst[19:23], h[16:20])
	dst[23] = '-'
	copy(dst[24:36], h[20:32])
}

// Records returns n records of about size bytes, as the load generator
// sends them (seeded, so the same each time), split out of one batch body
// sent at now.
func Records(n, size int, now time.Time) ([][]byte, error) {
	g := NewGenerator(GenOptions{RecordBytes: size, Seed: 7})
	body := g.Template(n).Fill(nil, n, NewIDs(1, 1), now, 0)
	arr, ok := event.OnlyRecords(body)
	if !ok {
		return nil, fmt.Errorf("loadgen: template body is not {\"Records\": …}")
	}
	elems, err := event.SplitArray(arr)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(elems))
	for i, e := range elems {
		out[i] = e
	}
	return out, nil
}

// Events returns Records(n, size, now) as the server stores them, decoded
// for account DefaultAccount: for benchmarks of the readers of stored
// records (delivery).
func Events(n, size int, now time.Time) ([]*event.Event, error) {
	recs, err := Records(n, size, now)
	if err != nil {
		return nil, err
	}
	evs := make([]*event.Event, len(recs))
	for i, r := range recs {
		e, ferr := event.Decode(r, event.Context{Account: DefaultAccount, Now: now.Add(time.Minute)})
		if ferr != nil {
			return nil, fmt.Errorf("loadgen: record %d: %v", i, ferr)
		}
		evs[i] = e
	}
	return evs, nil
}
