# One image for every program; compose.yaml picks the task to run.
FROM denoland/deno:2.9.6
WORKDIR /app
COPY . .
RUN deno install --frozen
EXPOSE 3233 13001
ENTRYPOINT ["deno", "task"]
CMD ["dev"]
