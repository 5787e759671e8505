# `influx backup` straight into the host's backup folder. Run INSIDE a one-off
# container of the InfluxDB container's own image by backup.sh (DIRECT transfer,
# local engine), as `sh -c "<this file>" influx-backup <marker>`, started as root
# with the InfluxDB container's network namespace and volumes (so `influx` sees
# the server as it does under `docker exec`) and the host's folder
# <backup>/influxdb bind-mounted at /homeiq-backup. POSIX sh: the image may have
# only busybox.
#
# The token comes from the environment ($INFLUX_TOKEN, read by `influx` itself).
# exit: 0 done; 11 /homeiq-backup is not the host's folder (no <marker> there, or
# root here cannot write to it: a remote engine, or a user namespace), nothing
# written; otherwise `influx backup`'s own exit code.
set -eu
out=/homeiq-backup
marker=$1

if ! rm "$out/$marker" 2>/dev/null; then
  echo "$out is not the backup folder of the host running backup.sh, or root here cannot write to it" >&2
  exit 11
fi
# Whatever happens, leave the files to the user who runs backup.sh (the owner of the
# folder, as seen from here), owner-only: the KV store holds InfluxDB's tokens.
owner=$(stat -c %u:%g "$out")
hand_over() {
  chown -R "$owner" "$out"
  chmod -R u=rwX,go= "$out"
}
trap hand_over EXIT
umask 077

influx backup "$out"
hand_over
# Durable before backup.sh hashes and publishes them: fsync each file, then the folder.
find "$out" -type f -exec sync {} + 2>/dev/null || sync
sync "$out" 2>/dev/null || sync
