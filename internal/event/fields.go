package event

import (
	"encoding/binary"
)

// The field table: the fields of a CloudTrail record, in the order
// CloudTrail writes them, with the JSON kind and the length limit Decode
// checks, and the ranks (places in that order) by which the decoder files
// a record's members.

// fieldOrder is the order CloudTrail writes a record's fields in; fields not
// listed follow in name order.
var fieldOrder = []string{
	"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
	"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
	"responseElements", "additionalEventData", "requestID", "eventID", "readOnly", "resources",
	"eventType", "apiVersion", "managementEvent", "recipientAccountId", "sharedEventID",
	"vpcEndpointId", "vpcEndpointAccountId", "serviceEventDetails", "eventCategory",
	"insightDetails", "addendum", "sessionCredentialFromConsole", "edgeDeviceDetails",
	"tlsDetails", "eventContext", "annotation",
}

var orderIndex = func() map[string]int {
	m := make(map[string]int, len(fieldOrder))
	for i, f := range fieldOrder {
		m[f] = i
	}
	return m
}()

// the JSON kind each known field must have.
type kind int

const (
	kString kind = iota
	kObject
	kBool
	kArray
)

var fieldKinds = map[string]kind{
	"eventVersion": kString, "eventTime": kString, "eventSource": kString, "eventName": kString,
	"awsRegion": kString, "sourceIPAddress": kString, "userAgent": kString, "errorCode": kString,
	"errorMessage": kString, "requestID": kString, "eventID": kString, "eventType": kString,
	"apiVersion": kString, "recipientAccountId": kString, "sharedEventID": kString,
	"vpcEndpointId": kString, "vpcEndpointAccountId": kString, "eventCategory": kString,
	"sessionCredentialFromConsole": kString,
	"userIdentity":                 kObject, "requestParameters": kObject, "responseElements": kObject,
	"additionalEventData": kObject, "serviceEventDetails": kObject, "insightDetails": kObject,
	"addendum": kObject, "edgeDeviceDetails": kObject, "tlsDetails": kObject, "eventContext": kObject,
	"readOnly": kBool, "managementEvent": kBool,
	"resources": kArray,
}

// string length limits (bytes) of CloudTrail's documented fields.
var fieldMax = map[string]int{
	"userAgent": 1024, "errorCode": 1024, "errorMessage": 1024, "requestID": 1024,
	"eventID": 128, "eventName": 1024, "eventSource": 1024, "awsRegion": 64,
	"sourceIPAddress": 1024, "eventVersion": 16, "eventType": 64, "apiVersion": 64,
	"recipientAccountId": 12, "sharedEventID": 128, "eventCategory": 32,
}

// nFields is len(fieldOrder).
const nFields = 33

// Ranks (places in fieldOrder) of the fields Decode reads or writes.
var (
	rEventVersion       = rank("eventVersion")
	rUserIdentity       = rank("userIdentity")
	rEventTime          = rank("eventTime")
	rEventSource        = rank("eventSource")
	rEventName          = rank("eventName")
	rAwsRegion          = rank("awsRegion")
	rEventID            = rank("eventID")
	rReadOnly           = rank("readOnly")
	rResources          = rank("resources")
	rEventType          = rank("eventType")
	rManagementEvent    = rank("managementEvent")
	rRecipientAccountID = rank("recipientAccountId")
	rEventCategory      = rank("eventCategory")
	rInsightDetails     = rank("insightDetails")
)

func rank(name string) int {
	r, ok := orderIndex[name]
	if !ok {
		panic("event: " + name + " is not in fieldOrder")
	}
	return r
}

// fieldInfo is what Decode knows of one field of fieldOrder.
type fieldInfo struct {
	name    string
	key     []byte // the name written as a JSON member name, with its colon
	checked bool   // the field's JSON kind is checked
	kind    kind
	max     int // the longest string allowed (bytes); 0 for no limit
}

var fieldInfos [nFields]fieldInfo

// nameSlots finds a field's rank from its name: a perfect hash of the
// names of fieldOrder (nameSeed is chosen so that no two collide) to
// rank+1, 0 for no field.
var (
	nameSlots [256]int8
	nameSeed  uint64
)

func hashName(k []byte, seed uint64) uint8 {
	// The last eight bytes and the length tell the names of fieldOrder apart.
	var x uint64
	if n := len(k); n >= 8 {
		x = binary.LittleEndian.Uint64(k[n-8:])
	} else {
		for i, c := range k {
			x |= uint64(c) << (8 * i)
		}
	}
	return uint8((x + uint64(len(k))) * seed >> 56)
}

func init() {
	if len(fieldOrder) != nFields {
		panic("event: nFields is not len(fieldOrder)")
	}
	for r, name := range fieldOrder {
		f := &fieldInfos[r]
		f.name = name
		f.key = append(appendName(nil, []byte(name)), ':')
		f.kind, f.checked = fieldKinds[name]
		f.max = fieldMax[name]
	}
	for seed := uint64(0x9e3779b97f4a7c15); ; seed += 2 {
		var slots [256]int8
		ok := true
		for r, name := range fieldOrder {
			h := hashName([]byte(name), seed)
			if slots[h] != 0 {
				ok = false
				break
			}
			slots[h] = int8(r + 1)
		}
		if ok {
			nameSlots, nameSeed = slots, seed
			break
		}
	}
}

// rankOf is the rank of the field named k, or -1 for a name not in fieldOrder.
func rankOf(k []byte) int {
	r := int(nameSlots[hashName(k, nameSeed)]) - 1
	if r >= 0 && string(k) == fieldOrder[r] {
		return r
	}
	return -1
}
