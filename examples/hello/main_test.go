package main

import "testing"

func TestGreeting(t *testing.T) {
	for name, want := range map[string]string{"": "hello, world", "gopher": "hello, gopher"} {
		if got := Greeting(name); got != want {
			t.Errorf("Greeting(%q) = %q, want %q", name, got, want)
		}
	}
}

func BenchmarkGreeting(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_ = Greeting("gopher")
	}
}
