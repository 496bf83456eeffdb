"""Runs the AWS CLI's own digest validation code on files written by Go.

Usage: python3 awscli_validate.py SPEC.json

SPEC is {"root": dir, "scenarios": [...], "digests": [...]}:

* a scenario is a bucket snapshot (objects under root) that is checked the
  way `aws cloudtrail validate-logs` checks it: the real
  CloudTrailValidateLogs command object (argument handling, DigestTraverser,
  DigestProvider listing, Sha256RSADigestValidator, log download and hashing,
  output) with only the AWS clients replaced by in-memory fakes;
* a digest case is one digest object checked by DigestTraverser.
  _load_and_validate_digest (fetch_digest, required keys, location,
  fingerprint lookup, signature).

Prints one JSON object with the results.
"""
import argparse
import base64
import contextlib
import io
import json
import os
import sys

from botocore.exceptions import ClientError

from awscli.customizations.cloudtrail import validation as v


def no_such_key(op):
    return ClientError(
        {'Error': {'Code': 'NoSuchKey', 'Message': 'The specified key does not exist.'}}, op
    )


class Body:
    def __init__(self, data):
        self._b = io.BytesIO(data)

    def read(self, n=-1):
        return self._b.read(n)


class Pages:
    def __init__(self, keys):
        self.keys = keys

    def search(self, expression):
        assert expression == 'Contents[*].Key', expression
        return iter(self.keys)


class Paginator:
    def __init__(self, s3):
        self.s3 = s3

    def paginate(self, Bucket, Marker, Prefix):
        self.s3.lists.append({'Bucket': Bucket, 'Marker': Marker, 'Prefix': Prefix})
        objects = self.s3.buckets.get(Bucket, {})
        # ListObjects (v1): keys after Marker, with Prefix, in byte order.
        return Pages(sorted(k for k in objects if k.startswith(Prefix) and k > Marker))


class FakeS3:
    def __init__(self, root, buckets):
        self.root = root
        self.buckets = buckets
        self.lists = []

    def get_paginator(self, name):
        assert name == 'list_objects', name
        return Paginator(self)

    def get_object(self, Bucket, Key):
        obj = self.buckets.get(Bucket, {}).get(Key)
        if obj is None:
            raise no_such_key('GetObject')
        with open(os.path.join(self.root, obj['file']), 'rb') as f:
            return {'Body': Body(f.read()), 'Metadata': dict(obj['metadata'] or {})}


class Provider:
    def __init__(self, s3):
        self.s3 = s3

    def get_client(self, bucket_name):
        return self.s3


class FakeCloudTrail:
    def __init__(self, keys, trail):
        self.keys = keys
        self.trail = trail
        self.calls = []

    def list_public_keys(self, StartTime, EndTime):
        self.calls.append([StartTime.isoformat(), EndTime.isoformat()])
        # The CLI turns off blob decoding: Value stays base64 text.
        return {'PublicKeyList': self.keys}

    def describe_trails(self):
        return {'trailList': [self.trail]}


class FakeOrganizations:
    def __init__(self, org_id):
        self.org_id = org_id

    def describe_organization(self):
        return {'Organization': {'Id': self.org_id}}


def run_scenario(root, sc):
    s3 = FakeS3(root, sc['buckets'])
    trail = {
        'TrailARN': sc['trail_arn'],
        'S3BucketName': sc['bucket'],
        'IsOrganizationTrail': bool(sc['org_id']),
    }
    if sc['prefix']:
        trail['S3KeyPrefix'] = sc['prefix']
    ct = FakeCloudTrail(sc['keys'], trail)
    cmd = v.CloudTrailValidateLogs(None)
    # An organization trail is found through DescribeTrails (with
    # --s3-bucket the CLI would not put the organization id in the keys).
    use_describe = bool(sc['org_id'])
    cmd.handle_args(argparse.Namespace(
        trail_arn=sc['trail_arn'],
        verbose=True,
        s3_bucket=None if use_describe else sc['bucket'],
        s3_prefix=None if use_describe else (sc['prefix'] or None),
        account_id=sc['account_id'] if use_describe else None,
        start_time=sc['start'],
        end_time=sc['end'],
    ))
    cmd._source_region = sc['region']
    cmd.s3_client_provider = Provider(s3)
    cmd.cloudtrail_client = ct
    cmd.organization_client = FakeOrganizations(sc['org_id'])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        cmd._call()
    return {
        'name': sc['name'],
        'valid_digests': cmd._valid_digests,
        'invalid_digests': cmd._invalid_digests,
        'valid_backfill_digests': cmd._valid_backfill_digests,
        'invalid_backfill_digests': cmd._invalid_backfill_digests,
        'valid_logs': cmd._valid_logs,
        'invalid_logs': cmd._invalid_logs,
        'stdout': out.getvalue(),
        'stderr': err.getvalue(),
        'lists': s3.lists,
        'key_calls': ct.calls,
    }


def run_digest(root, case):
    s3 = FakeS3(root, {case['bucket']: {case['key']: case['object']}})
    provider = v.DigestProvider(
        s3_client_provider=Provider(s3),
        account_id=case['account_id'],
        trail_name=case['trail_name'],
        trail_home_region=case['home_region'],
        trail_source_region=case['region'],
    )
    traverser = v.DigestTraverser(
        digest_provider=provider,
        starting_bucket=case['bucket'],
        starting_prefix=None,
        public_key_provider=None,
    )
    keys = {k['Fingerprint']: k for k in case['keys']}
    try:
        digest, end = traverser._load_and_validate_digest(keys, case['bucket'], case['key'])
    except v.DigestError as e:
        return {'name': case['name'], 'valid': False, 'error': str(e)}
    return {'name': case['name'], 'valid': True, 'end': end.isoformat(),
            'log_count': len(digest['logFiles'])}


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    root = spec['root']
    result = {
        'scenarios': [run_scenario(root, sc) for sc in spec.get('scenarios') or []],
        'digests': [run_digest(root, c) for c in spec.get('digests') or []],
    }
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
