package nn

import "math"

// RoPE rotates, in place, each of the heads (headDim wide) of every row of
// x by the angle pos[row]·invFreq[j] for pair j: element j with element
// j+headDim/2 (the Hugging Face layout, which llama2.c checkpoints are
// permuted into at load).
func RoPE(x []float64, pos []int, heads, headDim int, invFreq []float64) {
	rotate(x, pos, heads, headDim, invFreq, 1)
}

// RoPEBack turns, in place, the gradient with respect to RoPE's output into
// the gradient with respect to its input: the rotation is orthogonal, so
// its transpose is the rotation by the opposite angle.
func RoPEBack(dx []float64, pos []int, heads, headDim int, invFreq []float64) {
	rotate(dx, pos, heads, headDim, invFreq, -1)
}

func rotate(x []float64, pos []int, heads, headDim int, invFreq []float64, sign float64) {
	half := headDim / 2
	width := heads * headDim
	cos := make([]float64, half)
	sin := make([]float64, half)
	for r, p := range pos {
		for j := 0; j < half; j++ {
			s, c := math.Sincos(float64(p) * invFreq[j])
			cos[j], sin[j] = c, sign*s
		}
		row := x[r*width : (r+1)*width]
		for h := 0; h < heads; h++ {
			head := row[h*headDim : (h+1)*headDim]
			for j := 0; j < half; j++ {
				a, b := j, j+half
				x0, x1 := head[a], head[b]
				head[a] = x0*cos[j] - x1*sin[j]
				head[b] = x0*sin[j] + x1*cos[j]
			}
		}
	}
}
