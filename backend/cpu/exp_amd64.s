//go:build amd64 && !purego

#include "textflag.h"

// Vectorised exp (Cephes expf: range reduction by ln 2, degree-6
// polynomial, scaling by 2^n through the exponent bits; about 2 ulp),
// and the kernels built on it. See kernels.go for the contracts.

// expconst holds each constant broadcast to 8 lanes.
// c1
DATA expconst<>+0(SB)/4, $0x3f318000
DATA expconst<>+4(SB)/4, $0x3f318000
DATA expconst<>+8(SB)/4, $0x3f318000
DATA expconst<>+12(SB)/4, $0x3f318000
DATA expconst<>+16(SB)/4, $0x3f318000
DATA expconst<>+20(SB)/4, $0x3f318000
DATA expconst<>+24(SB)/4, $0x3f318000
DATA expconst<>+28(SB)/4, $0x3f318000
// c2
DATA expconst<>+32(SB)/4, $0xb95e8083
DATA expconst<>+36(SB)/4, $0xb95e8083
DATA expconst<>+40(SB)/4, $0xb95e8083
DATA expconst<>+44(SB)/4, $0xb95e8083
DATA expconst<>+48(SB)/4, $0xb95e8083
DATA expconst<>+52(SB)/4, $0xb95e8083
DATA expconst<>+56(SB)/4, $0xb95e8083
DATA expconst<>+60(SB)/4, $0xb95e8083
// p0
DATA expconst<>+64(SB)/4, $0x39506967
DATA expconst<>+68(SB)/4, $0x39506967
DATA expconst<>+72(SB)/4, $0x39506967
DATA expconst<>+76(SB)/4, $0x39506967
DATA expconst<>+80(SB)/4, $0x39506967
DATA expconst<>+84(SB)/4, $0x39506967
DATA expconst<>+88(SB)/4, $0x39506967
DATA expconst<>+92(SB)/4, $0x39506967
// p1
DATA expconst<>+96(SB)/4, $0x3ab743ce
DATA expconst<>+100(SB)/4, $0x3ab743ce
DATA expconst<>+104(SB)/4, $0x3ab743ce
DATA expconst<>+108(SB)/4, $0x3ab743ce
DATA expconst<>+112(SB)/4, $0x3ab743ce
DATA expconst<>+116(SB)/4, $0x3ab743ce
DATA expconst<>+120(SB)/4, $0x3ab743ce
DATA expconst<>+124(SB)/4, $0x3ab743ce
// p2
DATA expconst<>+128(SB)/4, $0x3c088908
DATA expconst<>+132(SB)/4, $0x3c088908
DATA expconst<>+136(SB)/4, $0x3c088908
DATA expconst<>+140(SB)/4, $0x3c088908
DATA expconst<>+144(SB)/4, $0x3c088908
DATA expconst<>+148(SB)/4, $0x3c088908
DATA expconst<>+152(SB)/4, $0x3c088908
DATA expconst<>+156(SB)/4, $0x3c088908
// p3
DATA expconst<>+160(SB)/4, $0x3d2aa9c1
DATA expconst<>+164(SB)/4, $0x3d2aa9c1
DATA expconst<>+168(SB)/4, $0x3d2aa9c1
DATA expconst<>+172(SB)/4, $0x3d2aa9c1
DATA expconst<>+176(SB)/4, $0x3d2aa9c1
DATA expconst<>+180(SB)/4, $0x3d2aa9c1
DATA expconst<>+184(SB)/4, $0x3d2aa9c1
DATA expconst<>+188(SB)/4, $0x3d2aa9c1
// p4
DATA expconst<>+192(SB)/4, $0x3e2aaaaa
DATA expconst<>+196(SB)/4, $0x3e2aaaaa
DATA expconst<>+200(SB)/4, $0x3e2aaaaa
DATA expconst<>+204(SB)/4, $0x3e2aaaaa
DATA expconst<>+208(SB)/4, $0x3e2aaaaa
DATA expconst<>+212(SB)/4, $0x3e2aaaaa
DATA expconst<>+216(SB)/4, $0x3e2aaaaa
DATA expconst<>+220(SB)/4, $0x3e2aaaaa
// p5
DATA expconst<>+224(SB)/4, $0x3f000000
DATA expconst<>+228(SB)/4, $0x3f000000
DATA expconst<>+232(SB)/4, $0x3f000000
DATA expconst<>+236(SB)/4, $0x3f000000
DATA expconst<>+240(SB)/4, $0x3f000000
DATA expconst<>+244(SB)/4, $0x3f000000
DATA expconst<>+248(SB)/4, $0x3f000000
DATA expconst<>+252(SB)/4, $0x3f000000
// i127
DATA expconst<>+256(SB)/4, $0x0000007f
DATA expconst<>+260(SB)/4, $0x0000007f
DATA expconst<>+264(SB)/4, $0x0000007f
DATA expconst<>+268(SB)/4, $0x0000007f
DATA expconst<>+272(SB)/4, $0x0000007f
DATA expconst<>+276(SB)/4, $0x0000007f
DATA expconst<>+280(SB)/4, $0x0000007f
DATA expconst<>+284(SB)/4, $0x0000007f
// lo
DATA expconst<>+288(SB)/4, $0xc2aeac4f
DATA expconst<>+292(SB)/4, $0xc2aeac4f
DATA expconst<>+296(SB)/4, $0xc2aeac4f
DATA expconst<>+300(SB)/4, $0xc2aeac4f
DATA expconst<>+304(SB)/4, $0xc2aeac4f
DATA expconst<>+308(SB)/4, $0xc2aeac4f
DATA expconst<>+312(SB)/4, $0xc2aeac4f
DATA expconst<>+316(SB)/4, $0xc2aeac4f
// hi
DATA expconst<>+320(SB)/4, $0x42b0c0a5
DATA expconst<>+324(SB)/4, $0x42b0c0a5
DATA expconst<>+328(SB)/4, $0x42b0c0a5
DATA expconst<>+332(SB)/4, $0x42b0c0a5
DATA expconst<>+336(SB)/4, $0x42b0c0a5
DATA expconst<>+340(SB)/4, $0x42b0c0a5
DATA expconst<>+344(SB)/4, $0x42b0c0a5
DATA expconst<>+348(SB)/4, $0x42b0c0a5
// log2e
DATA expconst<>+352(SB)/4, $0x3fb8aa3b
DATA expconst<>+356(SB)/4, $0x3fb8aa3b
DATA expconst<>+360(SB)/4, $0x3fb8aa3b
DATA expconst<>+364(SB)/4, $0x3fb8aa3b
DATA expconst<>+368(SB)/4, $0x3fb8aa3b
DATA expconst<>+372(SB)/4, $0x3fb8aa3b
DATA expconst<>+376(SB)/4, $0x3fb8aa3b
DATA expconst<>+380(SB)/4, $0x3fb8aa3b
// one
DATA expconst<>+384(SB)/4, $0x3f800000
DATA expconst<>+388(SB)/4, $0x3f800000
DATA expconst<>+392(SB)/4, $0x3f800000
DATA expconst<>+396(SB)/4, $0x3f800000
DATA expconst<>+400(SB)/4, $0x3f800000
DATA expconst<>+404(SB)/4, $0x3f800000
DATA expconst<>+408(SB)/4, $0x3f800000
DATA expconst<>+412(SB)/4, $0x3f800000
GLOBL expconst<>(SB), RODATA|NOPTR, $416

// EXPCONSTS loads the constants EXP8 keeps in registers.
#define EXPCONSTS \
	VMOVUPS expconst<>+288(SB), Y8; \
	VMOVUPS expconst<>+320(SB), Y9; \
	VMOVUPS expconst<>+352(SB), Y10; \
	VMOVUPS expconst<>+384(SB), Y11

// EXP8 sets Y0 = exp(Y0) lane-wise, using Y1..Y4. Inputs are clamped to
// [lo, hi] (NaN stays NaN): below lo the result is about 1e-38, not 0.
#define EXP8 \
	VMAXPS Y0, Y8, Y0; \
	VMINPS Y0, Y9, Y0; \
	VMULPS Y0, Y10, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VFNMADD231PS expconst<>+0(SB), Y1, Y0; \
	VFNMADD231PS expconst<>+32(SB), Y1, Y0; \
	VMULPS Y0, Y0, Y3; \
	VMOVUPS expconst<>+64(SB), Y2; \
	VFMADD213PS expconst<>+96(SB), Y0, Y2; \
	VFMADD213PS expconst<>+128(SB), Y0, Y2; \
	VFMADD213PS expconst<>+160(SB), Y0, Y2; \
	VFMADD213PS expconst<>+192(SB), Y0, Y2; \
	VFMADD213PS expconst<>+224(SB), Y0, Y2; \
	VFMADD213PS Y0, Y3, Y2; \
	VADDPS Y11, Y2, Y2; \
	VCVTPS2DQ Y1, Y4; \
	VPADDD expconst<>+256(SB), Y4, Y4; \
	VPSLLD $23, Y4, Y4; \
	VMULPS Y4, Y2, Y0

// HSUM folds Y5 into its lane sum in X5 (low lane).
#define HSUM \
	VEXTRACTF128 $1, Y5, X6; \
	VADDPS X6, X5, X5; \
	VHADDPS X5, X5, X5; \
	VHADDPS X5, X5, X5

// func expScaleSumAVX2(x *float32, n int, scale float32, sub float32) float32
// x[i] = exp(x[i]*scale - sub) for i < n (a multiple of 8); returns the sum.
TEXT ·expScaleSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Y6
	VBROADCASTSS sub+20(FP), Y7
	EXPCONSTS
	VXORPS Y5, Y5, Y5
	TESTQ CX, CX
	JZ done

loop:
	VMOVUPS (SI), Y0
	VFMSUB213PS Y7, Y6, Y0
	EXP8
	VMOVUPS Y0, (SI)
	VADDPS Y0, Y5, Y5
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ loop

done:
	HSUM
	VMOVSS X5, ret+24(FP)
	VZEROUPPER
	RET

// func siluMulAVX2(dst *float32, a *float32, b *float32, n int)
// dst[i] = a[i]/(1+exp(-a[i]))*b[i] for i < n (a multiple of 8).
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCONSTS
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JZ sdone

sloop:
	VMOVUPS (SI), Y6
	VSUBPS Y6, Y7, Y0
	EXP8
	VADDPS Y11, Y0, Y0
	VMULPS (DX), Y6, Y6
	VDIVPS Y0, Y6, Y6
	VMOVUPS Y6, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sloop

sdone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// Returns the largest of x[0:n]; n is a positive multiple of 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ $32, SI
	SUBQ $8, CX

mloop16:
	CMPQ CX, $16
	JLT mtail
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	ADDQ $64, SI
	SUBQ $16, CX
	JMP mloop16

mtail:
	TESTQ CX, CX
	JZ mdone
	VMAXPS (SI), Y0, Y0

mdone:
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// EXPCONSTS512 broadcasts the constants EXP16 keeps in registers.
#define EXPCONSTS512 \
	VBROADCASTSS expconst<>+288(SB), Z8; \
	VBROADCASTSS expconst<>+320(SB), Z9; \
	VBROADCASTSS expconst<>+352(SB), Z10; \
	VBROADCASTSS expconst<>+384(SB), Z11; \
	VBROADCASTSS expconst<>+0(SB), Z12; \
	VBROADCASTSS expconst<>+32(SB), Z13; \
	VBROADCASTSS expconst<>+64(SB), Z14; \
	VBROADCASTSS expconst<>+96(SB), Z15; \
	VBROADCASTSS expconst<>+128(SB), Z16; \
	VBROADCASTSS expconst<>+160(SB), Z17; \
	VBROADCASTSS expconst<>+192(SB), Z18; \
	VBROADCASTSS expconst<>+224(SB), Z19

// EXP16 sets Z0 = exp(Z0) lane-wise, using Z1..Z3: EXP8's algorithm on
// 16 lanes, with the 2^n scaling done by VSCALEFPS.
#define EXP16 \
	VMAXPS Z0, Z8, Z0; \
	VMINPS Z0, Z9, Z0; \
	VMULPS Z0, Z10, Z1; \
	VRNDSCALEPS $0, Z1, Z1; \
	VFNMADD231PS Z12, Z1, Z0; \
	VFNMADD231PS Z13, Z1, Z0; \
	VMULPS Z0, Z0, Z3; \
	VMOVAPS Z14, Z2; \
	VFMADD213PS Z15, Z0, Z2; \
	VFMADD213PS Z16, Z0, Z2; \
	VFMADD213PS Z17, Z0, Z2; \
	VFMADD213PS Z18, Z0, Z2; \
	VFMADD213PS Z19, Z0, Z2; \
	VFMADD213PS Z0, Z3, Z2; \
	VADDPS Z11, Z2, Z2; \
	VSCALEFPS Z1, Z2, Z0

// TAILMASK sets K1 to the low CX bits (CX < 16).
#define TAILMASK \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// func expScaleSumAVX512(x *float32, n int, scale float32, sub float32) float32
// x[i] = exp(x[i]*scale - sub) for i < n (any n); returns the sum.
TEXT ·expScaleSumAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Z6
	VBROADCASTSS sub+20(FP), Z7
	EXPCONSTS512
	VPXORD Z5, Z5, Z5

e16loop:
	CMPQ CX, $16
	JLT e16tail
	VMOVUPS (SI), Z0
	VFMSUB213PS Z7, Z6, Z0
	EXP16
	VMOVUPS Z0, (SI)
	VADDPS Z0, Z5, Z5
	ADDQ $64, SI
	SUBQ $16, CX
	JMP e16loop

e16tail:
	TESTQ CX, CX
	JZ e16done
	TAILMASK
	VMOVUPS.Z (SI), K1, Z0
	VFMSUB213PS Z7, Z6, Z0
	EXP16
	VMOVUPS Z0, K1, (SI)
	VADDPS Z0, Z5, K1, Z5

e16done:
	VEXTRACTF64X4 $1, Z5, Y6
	VADDPS Y6, Y5, Y5
	HSUM
	VMOVSS X5, ret+24(FP)
	VZEROUPPER
	RET

// func siluMulAVX512(dst *float32, a *float32, b *float32, n int)
// dst[i] = a[i]/(1+exp(-a[i]))*b[i] for i < n (any n).
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	EXPCONSTS512
	VPXORD Z7, Z7, Z7

s16loop:
	CMPQ CX, $16
	JLT s16tail
	VMOVUPS (SI), Z6
	VSUBPS Z6, Z7, Z0
	EXP16
	VADDPS Z11, Z0, Z0
	VMULPS (DX), Z6, Z6
	VDIVPS Z0, Z6, Z6
	VMOVUPS Z6, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP s16loop

s16tail:
	TESTQ CX, CX
	JZ s16done
	TAILMASK
	VMOVUPS.Z (SI), K1, Z6
	VMOVUPS.Z (DX), K1, Z4
	VSUBPS Z6, Z7, Z0
	EXP16
	VADDPS Z11, Z0, Z0
	VMULPS Z4, Z6, Z6
	VDIVPS Z0, Z6, Z6
	VMOVUPS Z6, K1, (DI)

s16done:
	VZEROUPPER
	RET
