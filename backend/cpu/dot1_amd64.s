//go:build amd64 && !purego

#include "textflag.h"

// Dot products of one f32 vector with one weight row (GEMV over short
// rows, read front to back as one stream). See kernels.go for the
// contracts. Four accumulators take 32 elements an iteration; the 8-element
// tail goes to the first.

// DOT1SETUP loads x into SI, w into DI, k into CX and zeroes Y0..Y3.
#define DOT1SETUP \
	MOVQ x+0(FP), SI; \
	MOVQ w+8(FP), DI; \
	MOVQ k+16(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3

// DOT1FOLD folds Y0..Y3 to one sum in X0 (the caller stores it).
#define DOT1FOLD \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VZEROUPPER

// func dot1F32AVX2(x *float32, w *float32, k int) float32
TEXT ·dot1F32AVX2(SB), NOSPLIT, $0-28
	DOT1SETUP

f32loop32:
	CMPQ CX, $32
	JLT f32loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP f32loop32

f32loop8:
	TESTQ CX, CX
	JZ f32done
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP f32loop8

f32done:
	DOT1FOLD
	VMOVSS X0, ret+24(FP)
	RET

// DOT1U16(WIDEN) is the body of the bf16 and f16 kernels: WIDEN(M, Y)
// loads 8 weights at M as float32 into Y.
#define DOT1U16(WIDEN, L32, L8, DONE) \
L32: \
	CMPQ CX, $32; \
	JLT L8; \
	WIDEN((DI), Y8); \
	WIDEN(16(DI), Y9); \
	WIDEN(32(DI), Y10); \
	WIDEN(48(DI), Y11); \
	VFMADD231PS (SI), Y8, Y0; \
	VFMADD231PS 32(SI), Y9, Y1; \
	VFMADD231PS 64(SI), Y10, Y2; \
	VFMADD231PS 96(SI), Y11, Y3; \
	ADDQ $128, SI; \
	ADDQ $64, DI; \
	SUBQ $32, CX; \
	JMP L32; \
L8: \
	TESTQ CX, CX; \
	JZ DONE; \
	WIDEN((DI), Y8); \
	VFMADD231PS (SI), Y8, Y0; \
	ADDQ $32, SI; \
	ADDQ $16, DI; \
	SUBQ $8, CX; \
	JMP L8; \
DONE: \
	DOT1FOLD

#define WIDEN1BF16(M, Y) \
	VPMOVZXWD M, Y; \
	VPSLLD $16, Y, Y

#define WIDEN1F16(M, Y) \
	VCVTPH2PS M, Y

// func dot1BF16AVX2(x *float32, w *uint16, k int) float32
TEXT ·dot1BF16AVX2(SB), NOSPLIT, $0-28
	DOT1SETUP
	DOT1U16(WIDEN1BF16, bf16loop32, bf16loop8, bf16done)
	VMOVSS X0, ret+24(FP)
	RET

// func dot1F16AVX2(x *float32, w *uint16, k int) float32
TEXT ·dot1F16AVX2(SB), NOSPLIT, $0-28
	DOT1SETUP
	DOT1U16(WIDEN1F16, f16loop32, f16loop8, f16done)
	VMOVSS X0, ret+24(FP)
	RET
