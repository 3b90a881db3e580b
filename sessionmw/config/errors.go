package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// ErrSecretInYAML is wrapped by the error for a key that would hold the
// session secret: the secret is never read from YAML, where it would end
// up in version control and backups. Pass it in Options.Secret.
var ErrSecretInYAML = errors.New("the session secret is never read from YAML")

// Error is a configuration mistake and where it is: the file (empty for
// Load), the line (0 when unknown) and the key, a dotted path such as
// routes[2].method.
type Error struct {
	File string
	Line int
	Key  string
	Err  error
}

// Error renders "config: FILE:LINE: KEY: message" ("config: line LINE:
// KEY: message" without a file).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// source is one parsed YAML file.
type source struct {
	name string   // file name for errors; "" for Load
	root ast.Node // the document's body; nil for an empty file
}

func parseSource(name string, data []byte) (*source, error) {
	src := &source{name: name}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, src.yamlErr(err)
	}
	if len(f.Docs) > 1 {
		return nil, &Error{File: name, Err: fmt.Errorf("%d YAML documents; want one", len(f.Docs))}
	}
	if len(f.Docs) == 1 {
		src.root = f.Docs[0].Body
	}
	if err := src.refuseSecrets(src.root, nil); err != nil {
		return nil, err
	}
	return src, nil
}

// decode decodes node into v, refusing unknown keys.
func (s *source) decode(node ast.Node, v any) error {
	if node == nil {
		return nil
	}
	if err := yaml.NodeToValue(node, v, yaml.DisallowUnknownField()); err != nil {
		return s.yamlErr(err)
	}
	return nil
}

// yamlErr turns a goccy/go-yaml error into an *Error with its line.
func (s *source) yamlErr(err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return &Error{File: s.name, Line: line, Err: errors.New(ye.GetMessage())}
	}
	msg, _, _ := strings.Cut(err.Error(), "\n") // drop the source excerpt
	return &Error{File: s.name, Err: errors.New(msg)}
}

// errAt returns err located at path (keys and sequence indexes) in s.
func (s *source) errAt(err error, path ...any) *Error {
	return &Error{File: s.name, Line: lineAt(s.root, path), Key: keyPath(path), Err: err}
}

// keyPath renders a path as middlewares.S.config.key or routes[0].path.
func keyPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(p) + "]")
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

// lineAt returns the line of the deepest key or item of path found under
// node, so that a missing key is reported at its parent.
func lineAt(node ast.Node, path []any) int {
	line := 0
	if node != nil && node.GetToken() != nil {
		line = node.GetToken().Position.Line
	}
	for _, p := range path {
		node = unwrap(node)
		var next ast.Node
		switch p := p.(type) {
		case string:
			for _, mv := range mappingValues(node) {
				if mv.Key != nil && mv.Key.GetToken() != nil && mv.Key.GetToken().Value == p {
					line = mv.Key.GetToken().Position.Line
					next = mv.Value
				}
			}
		case int:
			if seq, ok := node.(*ast.SequenceNode); ok && p >= 0 && p < len(seq.Values) {
				next = seq.Values[p]
				if tk := next.GetToken(); tk != nil {
					line = tk.Position.Line
				}
			}
		}
		if next == nil {
			break
		}
		node = next
	}
	return line
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
}

func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch x := n.(type) {
	case *ast.MappingNode:
		return x.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{x}
	}
	return nil
}

// secretKeys are the key spellings refused anywhere, compared after
// lower-casing and dropping '_' and '-'.
var secretKeys = map[string]bool{
	"secret": true, "secretkey": true, "secrets": true, "sessionsecret": true,
	"secretfallbacks": true, "secretkeyfallbacks": true,
}

// refuseSecrets fails on any mapping key that would hold the secret.
func (s *source) refuseSecrets(n ast.Node, path []any) error {
	switch x := unwrap(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		for _, mv := range mappingValues(x) {
			if mv.Key == nil || mv.Key.GetToken() == nil {
				continue
			}
			k := mv.Key.GetToken().Value
			p := append(path[:len(path):len(path)], k)
			norm := strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k))
			if secretKeys[norm] {
				return &Error{File: s.name, Line: mv.Key.GetToken().Position.Line, Key: keyPath(p), Err: ErrSecretInYAML}
			}
			if err := s.refuseSecrets(mv.Value, p); err != nil {
				return err
			}
		}
	case *ast.SequenceNode:
		for i, v := range x.Values {
			if err := s.refuseSecrets(v, append(path[:len(path):len(path)], i)); err != nil {
				return err
			}
		}
	}
	return nil
}
