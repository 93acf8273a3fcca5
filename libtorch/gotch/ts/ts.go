// Package ts stands in for gotch's until `make gotch` (see ../gotch.go).
package ts

import _ "github.com/sugarme/gotch"
