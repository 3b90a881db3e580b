package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/sessionmw/go/adapters/ginsession"
	"github.com/sessionmw/go/sessionmw"
)

// A counter in a gin application: every request increments "n".
func Example() {
	mw, err := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	r := gin.New()
	r.Use(ginsession.New(mw))
	r.GET("/count", func(c *gin.Context) {
		s := ginsession.FromContext(c).GetSession()
		n, _ := sessionmw.Get[int](s, "n")
		s.Set("n", n+1)
		c.JSON(http.StatusOK, gin.H{"n": n + 1})
	})

	cookie := ""
	for range 3 {
		req := httptest.NewRequest("GET", "/count", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) == 1 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		fmt.Println(rec.Body.String(), len(rec.Result().Cookies()))
	}
	// Output:
	// {"n":1} 1
	// {"n":2} 0
	// {"n":3} 0
}
