#!/bin/sh
# Writes the element-list files the Javadoc build links against (<offlineLinks> in the root
# pom.xml): the packages of each library jar in the local Maven repository, one per line.
# The build has no web access, so javadoc cannot fetch these lists from javadoc.io itself.
# Run again, and commit the result, whenever a version below changes in the root pom.xml.
#
#   sh src/javadoc/links/generate.sh [path-to-maven-repository]
set -eu
repo=${1:-$HOME/.m2/repository}
here=$(cd "$(dirname "$0")" && pwd)

# packages <jar>...: the packages holding classes in the given jars; leaves out multi-release
# copies, module-info and the shaded third-party code that the libraries do not document
packages() {
  for jar in "$@"; do
    unzip -Z1 "$jar"
  done | grep '\.class$' | grep -v -e '^META-INF/' -e 'module-info\.class$' \
    | sed 's|/[^/]*$||' | tr / . | grep -v '\.shaded\.' | LC_ALL=C sort -u
}

# link <dir> <jar>...: writes <dir>/element-list
link() {
  dir=$1; shift
  mkdir -p "$here/$dir"
  packages "$@" > "$here/$dir/element-list"
  echo "$dir: $(wc -l < "$here/$dir/element-list") packages"
}

hapi=8.8.1        # hapi.version
hapi_core=6.7.9   # org.hl7.fhir.r4, which hapi-fhir-structures-r4 $hapi depends on
jose=10.9.1       # nimbus.jose.version
h=$repo/ca/uhn/hapi/fhir

link hapi-fhir-base "$h/hapi-fhir-base/$hapi/hapi-fhir-base-$hapi.jar"
link hapi-fhir-client "$h/hapi-fhir-client/$hapi/hapi-fhir-client-$hapi.jar"
link hapi-fhir-server "$h/hapi-fhir-server/$hapi/hapi-fhir-server-$hapi.jar"
# HAPI's R4 Javadoc also documents the R4 model (org.hl7.fhir.r4.model), whose classes ship
# in the org.hl7.fhir.r4 jar
link hapi-fhir-structures-r4 "$h/hapi-fhir-structures-r4/$hapi/hapi-fhir-structures-r4-$hapi.jar" \
  "$h/org.hl7.fhir.r4/$hapi_core/org.hl7.fhir.r4-$hapi_core.jar"
link nimbus-jose-jwt "$repo/com/nimbusds/nimbus-jose-jwt/$jose/nimbus-jose-jwt-$jose.jar"

# The Java SE 17 API (maven-javadoc-plugin 3.12.0 carries lists only up to Java 15). Its docs
# are modular, so the list names each module before its packages. Needs a JDK 17 `java`.
java -version 2>&1 | grep -q 'version "17' || { echo "java on PATH is not 17" >&2; exit 1; }
mkdir -p "$here/jdk-17"
for m in $(java --list-modules | sed 's/@.*//' | grep -v '^jdk\.internal\.' | LC_ALL=C sort); do
  pkgs=$(java --describe-module "$m" | sed -n 's/^exports \([^ ]*\)$/\1/p' | LC_ALL=C sort)
  if [ -n "$pkgs" ]; then printf 'module:%s\n%s\n' "$m" "$pkgs"; fi
done > "$here/jdk-17/element-list"
echo "jdk-17: $(grep -vc '^module:' "$here/jdk-17/element-list") packages"
