// Package tempfiles tracks the temporary files and folders a tool writes
// before renaming them into place, so that an interrupted tool (SIGINT,
// SIGTERM) removes them on its way out: nothing partial is ever left
// behind, under a temporary name or another.
package tempfiles

import (
	"os"
	"sync"
)

var (
	mu    sync.Mutex
	paths = map[string]bool{}
)

// Add registers path (a file or a folder) for removal on interrupt.
func Add(path string) {
	mu.Lock()
	paths[path] = true
	mu.Unlock()
}

// Done unregisters path: it was renamed into place or removed.
func Done(path string) {
	mu.Lock()
	delete(paths, path)
	mu.Unlock()
}

// RemoveAll removes every registered path; the tool is stopping.
func RemoveAll() {
	mu.Lock()
	defer mu.Unlock()
	for p := range paths {
		os.RemoveAll(p)
		delete(paths, p)
	}
}
