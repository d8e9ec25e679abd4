//go:build !amd64 || purego

package cpu

// kernelSets lists the sets this CPU can run: only the pure-Go set here.
func kernelSets() []*kernels { return []*kernels{genericKernels} }
