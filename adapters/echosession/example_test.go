package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"
	"github.com/sessionmw/go/adapters/echosession"
	"github.com/sessionmw/go/sessionmw"
)

// A counter in an echo application: every request increments "n".
func Example() {
	mw, err := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	e := echo.New()
	e.Use(echosession.New(mw))
	e.GET("/count", func(c echo.Context) error {
		s := echosession.FromContext(c).GetSession()
		n, _ := sessionmw.Get[int](s, "n")
		s.Set("n", n+1)
		return c.String(http.StatusOK, fmt.Sprint(n+1))
	})

	cookie := ""
	for range 3 {
		req := httptest.NewRequest("GET", "/count", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) == 1 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		fmt.Println(rec.Body.String(), len(rec.Result().Cookies()))
	}
	// Output:
	// 1 1
	// 2 0
	// 3 0
}
