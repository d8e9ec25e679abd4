package backend

// FreeMemoryer is implemented by backends with memory of their own (a
// GPU's), so that callers can size what they keep there, such as the KV
// caches of a batch.
type FreeMemoryer interface {
	// FreeMemory returns the bytes of device memory free now and in total.
	FreeMemory() (free, total int64, err error)
}
