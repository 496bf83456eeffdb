package event

import "testing"

func TestHasErrorCode(t *testing.T) {
	for rec, want := range map[string]bool{
		`{"eventName":"GetObject"}`:                                                 false,
		`{"eventName":"GetObject","errorCode":"AccessDenied"}`:                      true,
		`{"errorCode":"","eventName":"GetObject"}`:                                  false,
		`{"errorCode":null}`:                                                        false,
		`{"requestParameters":{"errorCode":"NotReally"},"eventName":"Get"}`:         false,
		`{"requestParameters":{"errorCode":"x"},"errorCode":"ThrottlingException"}`: true,
		`{"ErrorCode":"LookAlike"}`:                                                 false,
		`{"errorCode":"\u0041"}`:                                                    true,
		`not json "errorCode"`:                                                      false,
	} {
		if got := HasErrorCode([]byte(rec)); got != want {
			t.Errorf("HasErrorCode(%s) = %v, want %v", rec, got, want)
		}
	}
}
