package weights

import (
	"flag"
	"os"
	"testing"
)

// TestMain lowers the fuzzer's per-input minimization budget unless the
// command line sets one: FuzzDecode's inputs are multi-kilobyte weight
// files, and the default 60 s spent shrinking each new interesting input
// would leave a 10-minute run almost no time to fuzz.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", "2s"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
