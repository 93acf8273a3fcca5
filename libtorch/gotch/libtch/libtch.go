// Package libtch stands in for gotch's until `make gotch` (see ../gotch.go).
package libtch

import _ "github.com/sugarme/gotch"
