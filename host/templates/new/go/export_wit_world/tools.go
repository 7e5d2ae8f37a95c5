// {{name}}: the tools of wit/world.wit, in Go. wit-bindgen's Go generator
// writes the bindings (build.sh runs it into build/gen); this package is the
// world's exports, each exported function one tool.
package export_wit_world

import (
	"fmt"

	"wit_component/moat_host_content"
	"wit_component/moat_host_logging"
	"wit_component/moat_host_progress"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

var greetings = [][2]string{
	{"Hello, ", "!"},
	{"Bonjour, ", " !"},
	{"Hallo, ", "!"},
	{"Hola, ", "!"},
	{"Ciao, ", "!"},
}

// Greetings are plain Go: the part worth a native `go test`.
func Greetings(name string, languages uint8) ([]string, error) {
	if languages < 1 || int(languages) > len(greetings) {
		return nil, fmt.Errorf("languages must be between 1 and 5, not %d", languages)
	}
	all := make([]string, 0, languages)
	for _, greeting := range greetings[:languages] {
		all = append(all, greeting[0]+name+greeting[1])
	}
	return all, nil
}

func Greet(name string, languages uint8) witTypes.Result[[]string, string] {
	field := moat_host_logging.Field{Name: "name", Value: name}
	moat_host_logging.Log(moat_host_logging.Level_Info, "greeting", []moat_host_logging.Field{field})
	all, err := Greetings(name, languages)
	if err != nil {
		return witTypes.Err[[]string, string](err.Error())
	}
	for done := 1; done <= len(all); done++ {
		moat_host_progress.Report(float64(done), witTypes.Some(float64(len(all))), witTypes.None[string]())
	}
	return witTypes.Ok[[]string, string](all)
}

func GreetingCard(name string) []moat_host_content.Message {
	text := fmt.Sprintf("Write a short, warm greeting card for %s, in English and French.", name)
	block := moat_host_content.Block{
		Kind:        moat_host_content.MakeKindText(text),
		Annotations: witTypes.None[moat_host_content.Annotations](),
	}
	message := moat_host_content.Message{Role: moat_host_content.Role_User, Content: block}
	return []moat_host_content.Message{message}
}
