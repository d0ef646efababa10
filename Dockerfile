# Builds the two static binaries; the runtime image holds nothing else.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/web ./cmd/vpcep-sim

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/web /out/vpcep-sim /usr/local/bin/
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/usr/local/bin/web"]
CMD ["serve"]
