//go:build amd64 && !purego

#include "textflag.h"

// Dot products of one f32 vector with four weight rows (GEMV), and
// bf16/f16 widening. See kernels.go for the contracts.

// DOT4SETUP loads the arguments: SI = x, DI = w row 0, R11 = w row 3,
// R9 = row stride in bytes (elements << SHIFT), CX = k, DX = out; and
// zeroes the accumulators Y0..Y7.
#define DOT4SETUP(SHIFT) \
	MOVQ x+0(FP), SI; \
	MOVQ w+8(FP), DI; \
	MOVQ ldw+16(FP), R9; \
	SHLQ $SHIFT, R9; \
	MOVQ k+24(FP), CX; \
	MOVQ out+32(FP), DX; \
	LEAQ (DI)(R9*2), R11; \
	ADDQ R9, R11; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

// DOT4STORE adds the two accumulator sets, folds each of Y0..Y3 to one
// sum and stores the four sums at out.
#define DOT4STORE \
	VADDPS Y4, Y0, Y0; \
	VADDPS Y5, Y1, Y1; \
	VADDPS Y6, Y2, Y2; \
	VADDPS Y7, Y3, Y3; \
	VHADDPS Y1, Y0, Y0; \
	VHADDPS Y3, Y2, Y2; \
	VHADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVUPS X0, (DX); \
	VZEROUPPER

// func dot4F32AVX2(x *float32, w *float32, ldw int, k int, out *[4]float32)
TEXT ·dot4F32AVX2(SB), NOSPLIT, $0-40
	DOT4SETUP(2)

df32loop16:
	CMPQ CX, $16
	JLT df32tail
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS (DI)(R9*1), Y8, Y1
	VFMADD231PS (DI)(R9*2), Y8, Y2
	VFMADD231PS (R11), Y8, Y3
	VFMADD231PS 32(DI), Y9, Y4
	VFMADD231PS 32(DI)(R9*1), Y9, Y5
	VFMADD231PS 32(DI)(R9*2), Y9, Y6
	VFMADD231PS 32(R11), Y9, Y7
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R11
	SUBQ $16, CX
	JMP df32loop16

df32tail:
	TESTQ CX, CX
	JZ df32done
	VMOVUPS (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	VFMADD231PS (DI)(R9*1), Y8, Y1
	VFMADD231PS (DI)(R9*2), Y8, Y2
	VFMADD231PS (R11), Y8, Y3

df32done:
	DOT4STORE
	RET

// WIDENBF16(M, Y) loads 8 bf16 values at M as float32 into Y.
#define WIDENBF16(M, Y) \
	VPMOVZXWD M, Y; \
	VPSLLD $16, Y, Y

// WIDENF16(M, Y) loads 8 f16 values at M as float32 into Y.
#define WIDENF16(M, Y) \
	VCVTPH2PS M, Y

// func dot4BF16AVX2(x *float32, w *uint16, ldw int, k int, out *[4]float32)
TEXT ·dot4BF16AVX2(SB), NOSPLIT, $0-40
	DOT4SETUP(1)

loop16:
	CMPQ CX, $16
	JLT tail
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	WIDENBF16((DI), Y10)
	WIDENBF16((DI)(R9*1), Y11)
	WIDENBF16((DI)(R9*2), Y12)
	WIDENBF16((R11), Y13)
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y12, Y8, Y2
	VFMADD231PS Y13, Y8, Y3
	WIDENBF16(16(DI), Y10)
	WIDENBF16(16(DI)(R9*1), Y11)
	WIDENBF16(16(DI)(R9*2), Y12)
	WIDENBF16(16(R11), Y13)
	VFMADD231PS Y10, Y9, Y4
	VFMADD231PS Y11, Y9, Y5
	VFMADD231PS Y12, Y9, Y6
	VFMADD231PS Y13, Y9, Y7
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, R11
	SUBQ $16, CX
	JMP loop16

tail:
	TESTQ CX, CX
	JZ done
	VMOVUPS (SI), Y8
	WIDENBF16((DI), Y10)
	WIDENBF16((DI)(R9*1), Y11)
	WIDENBF16((DI)(R9*2), Y12)
	WIDENBF16((R11), Y13)
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y12, Y8, Y2
	VFMADD231PS Y13, Y8, Y3

done:
	DOT4STORE
	RET

// func dot4F16AVX2(x *float32, w *uint16, ldw int, k int, out *[4]float32)
TEXT ·dot4F16AVX2(SB), NOSPLIT, $0-40
	DOT4SETUP(1)

loop16:
	CMPQ CX, $16
	JLT tail
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	WIDENF16((DI), Y10)
	WIDENF16((DI)(R9*1), Y11)
	WIDENF16((DI)(R9*2), Y12)
	WIDENF16((R11), Y13)
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y12, Y8, Y2
	VFMADD231PS Y13, Y8, Y3
	WIDENF16(16(DI), Y10)
	WIDENF16(16(DI)(R9*1), Y11)
	WIDENF16(16(DI)(R9*2), Y12)
	WIDENF16(16(R11), Y13)
	VFMADD231PS Y10, Y9, Y4
	VFMADD231PS Y11, Y9, Y5
	VFMADD231PS Y12, Y9, Y6
	VFMADD231PS Y13, Y9, Y7
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $32, R11
	SUBQ $16, CX
	JMP loop16

tail:
	TESTQ CX, CX
	JZ done
	VMOVUPS (SI), Y8
	WIDENF16((DI), Y10)
	WIDENF16((DI)(R9*1), Y11)
	WIDENF16((DI)(R9*2), Y12)
	WIDENF16((R11), Y13)
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y12, Y8, Y2
	VFMADD231PS Y13, Y8, Y3

done:
	DOT4STORE
	RET

// func widenBF16AVX2(dst *float32, src *uint16, n int)
// n is a multiple of 8.
TEXT ·widenBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JZ wbdone

wbloop:
	WIDENBF16((SI), Y0)
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ wbloop

wbdone:
	VZEROUPPER
	RET

// func widenF16AVX2(dst *float32, src *uint16, n int)
// n is a multiple of 8.
TEXT ·widenF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JZ whdone

whloop:
	WIDENF16((SI), Y0)
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ whloop

whdone:
	VZEROUPPER
	RET
