package registry

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// zeroNil lets an API client clear an optional reference by sending 0.
func zeroNil(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
