#!/bin/bash
# Train one neurocine model on many sessions across several GPU nodes with SLURM + torchrun.
#
#   sbatch examples/slurm_torchrun.sh configs/allen_gpu.yaml /shared/allen_sessions
#
# One torchrun per node (srun --ntasks-per-node=1); torchrun starts one process per GPU
# and the c10d rendezvous on the first node joins them. The data folder and the results
# folder (config output_dir) must be on a filesystem every node sees: each rank reads its
# own sessions, rank 0 writes the results, and --resume reads checkpoint.pt on every rank.
#SBATCH --job-name=neurocine
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=32
#SBATCH --time=04:00:00
#SBATCH --output=neurocine-%j.log
set -euo pipefail

CONFIG=${1:-configs/allen_gpu.yaml}
DATA=${2:-data}
GPUS_PER_NODE=${SLURM_GPUS_PER_NODE:-4}
HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export OMP_NUM_THREADS=$(( ${SLURM_CPUS_PER_TASK:-8} / GPUS_PER_NODE ))

srun torchrun \
  --nnodes="$SLURM_NNODES" \
  --nproc_per_node="$GPUS_PER_NODE" \
  --rdzv_id="$SLURM_JOB_ID" \
  --rdzv_backend=c10d \
  --rdzv_endpoint="$HEAD_NODE:29500" \
  -m neurocine train --config "$CONFIG" --data_dir "$DATA" --resume

# The later stages (frame ID, reconstruction, report) are one-process jobs on the results:
#   neurocine decode-frames results && neurocine reconstruct results && neurocine report results
