package weighting

import "github.com/spf13/pflag"

// Register binds p to train's weighting flags; New is its Finish.
func (p *Params) Register(fs *pflag.FlagSet) {
	fs.Float64Var(&p.NLIRG.X0, "nlirg-x0", p.NLIRG.X0, "nlirg: midpoint of the rising branch")
	fs.Float64Var(&p.NLIRG.K, "nlirg-k", p.NLIRG.K, "nlirg: slope of the rising branch")
	fs.Float64Var(&p.NLIRG.Threshold, "nlirg-threshold", p.NLIRG.Threshold, "nlirg: loss where the falling branch starts (exclusive)")
	fs.Float64Var(&p.NLIRG.Deadline, "nlirg-deadline", p.NLIRG.Deadline, "nlirg: loss from which the weight is 0")
	fs.Float64Var(&p.NLIRG.HardX0, "nlirg-hard-x0", p.NLIRG.HardX0, "nlirg: midpoint of the falling branch (hard-coded 6.2 in Y-Trainer's code)")
	fs.Float64Var(&p.NLIRG.HardK, "nlirg-hard-k", p.NLIRG.HardK, "nlirg: slope of the falling branch (hard-coded 1 in Y-Trainer's code)")
	fs.Float64Var(&p.NLIRG.MaxLR, "nlirg-max", p.NLIRG.MaxLR, "nlirg: scale of both branches")
	fs.Float64Var(&p.NLIRG.MinLR, "nlirg-min", p.NLIRG.MinLR, "nlirg: floor added to the falling branch")
	fs.BoolVar(&p.NLIRG.BF16, "nlirg-bf16", false, "nlirg: round loss and weight to bf16 like Y-Trainer's default run")
	fs.StringVar(&p.Calibrate, "calibrate", "", "nlirg-auto: calibrate on `SCORES`, score's records of the training data under the base model")
	fs.Float64Var(&p.CalibrateQuantile, "calibrate-quantile", p.CalibrateQuantile, "nlirg-auto: quantile of the base's unknown answer-token losses that becomes nlirg-hard-x0")
	fs.Float64Var(&p.Focal.Gamma, "focal-gamma", p.Focal.Gamma, "focal: γ")
	fs.Float64Var(&p.EAFT.Alpha, "eaft-alpha", p.EAFT.Alpha, "eaft: α")
	fs.IntVar(&p.EAFT.TopK, "eaft-topk", p.EAFT.TopK, "eaft: k of the top-k entropy")
	fs.Float64Var(&p.Trunc.Fraction, "trunc-fraction", p.Trunc.Fraction, "trunc: fraction of highest-loss tokens dropped per step")
}
