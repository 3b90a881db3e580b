package fiber3session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/sessionmw/go/adapters/fiber3session"
	"github.com/sessionmw/go/sessionmw"
)

// A counter in a fiber application: every request increments "n".
func Example() {
	mw, err := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	app := fiber.New()
	app.Use(fiber3session.New(mw))
	app.Get("/count", func(c fiber.Ctx) error {
		s := fiber3session.FromContext(c).GetSession()
		n, _ := sessionmw.Get[int](s, "n")
		s.Set("n", n+1)
		return c.JSON(fiber.Map{"n": n + 1})
	})
	count(app)
	// Output:
	// {"n":1} 1
	// {"n":2} 0
	// {"n":3} 0
}

// A net/http handler mounted in fiber with the adaptor needs no adapter
// of this package.
func Example_netHTTPHandler() {
	mw, err := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	counter := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		n, _ := sessionmw.Get[int](s, "n")
		s.Set("n", n+1)
		fmt.Fprintf(w, `{"n":%d}`, n+1)
	})
	app := fiber.New()
	app.Get("/count", adaptor.HTTPHandler(mw.Handler(counter)))
	count(app)
	// Output:
	// {"n":1} 1
	// {"n":2} 0
	// {"n":3} 0
}

// count sends three requests to app's /count, carrying the session
// cookie, and prints each body and how many cookies it set.
func count(app *fiber.App) {
	cookie := ""
	for range 3 {
		req := httptest.NewRequest("GET", "/count", nil)
		req.Header.Set("Cookie", cookie)
		res, err := app.Test(req, fiber.TestConfig{}) // no timeout
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if c := res.Cookies(); len(c) == 1 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		fmt.Println(string(body), len(res.Cookies()))
	}
}
