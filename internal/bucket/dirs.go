package bucket

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ListDirs returns the names of the "folders" right under prefix (which
// ends with "/" or is empty): the next key segment of every key that has
// more segments after it, sorted and each once — S3's common prefixes of a
// delimited listing, without their prefix and "/". It lets a reader of a
// large tree (an archive in CloudTrail's layout) descend only into the
// folders it needs instead of listing every key.
func ListDirs(ctx context.Context, b Bucket, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("%w: folder prefix %q must end with /", ErrInvalid, prefix)
	}
	switch b := b.(type) {
	case *dirBucket:
		return b.listDirs(ctx, prefix)
	case *s3Bucket:
		return b.listDirs(ctx, prefix)
	}
	// Any other Bucket: derive the folders from the full listing.
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		if seg, _, ok := strings.Cut(k[len(prefix):], "/"); ok && seg != "" {
			out = append(out, seg)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (b *dirBucket) listDirs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := strings.TrimSuffix(prefix, "/")
	if dir == "" {
		dir = "."
	}
	if !fs.ValidPath(dir) || strings.HasPrefix(dir, reservedPrefix) {
		return nil, nil
	}
	root, err := b.openRoot(false)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("bucket %s: list folders %q: %w", b.name, prefix, err)
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("bucket %s: list folders %q: %w", b.name, prefix, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() || (dir == "." && strings.HasPrefix(e.Name(), reservedPrefix)) {
			continue
		}
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out, nil
}

func (b *s3Bucket) listDirs(ctx context.Context, prefix string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Delimiter: aws.String("/")}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(b.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, b.wrap(fmt.Sprintf("list folders %q", prefix), err)
		}
		for _, cp := range page.CommonPrefixes {
			if name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"); name != "" {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
